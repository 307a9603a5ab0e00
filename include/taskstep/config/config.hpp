#pragma once
//! \file
//! All config sources. The chain Concourse 6.7's task step builds is
//! `static_source | resource_defaults | override_params | interpolate(build vars) | validating` for an
//! embedded `config:`, and for `file:` the file source followed, when the step has `vars:`, by
//! `interpolate(step vars, expect_all_keys = false)` and then the same decorators.

#include "taskstep/config/concepts.hpp"
#include "taskstep/config/file_source.hpp"
#include "taskstep/config/interpolate.hpp"
#include "taskstep/config/override_params.hpp"
#include "taskstep/config/resource_defaults.hpp"
#include "taskstep/config/static_source.hpp"
#include "taskstep/config/validating.hpp"
#include "taskstep/config/var_flags.hpp"
