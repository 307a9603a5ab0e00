#pragma once
//! \file
//! Umbrella header: the public taskstep API.

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/core/artifact.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/vars/redact.hpp"
#include "taskstep/vars/reference.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"
