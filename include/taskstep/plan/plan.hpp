#pragma once
//! \file
//! The plan layer: step combinators as types and the runtime plan tree (docs/plan.md).

#include "taskstep/plan/combinators.hpp"
#include "taskstep/plan/load_var.hpp"
#include "taskstep/plan/outcome.hpp"
#include "taskstep/plan/semantics.hpp"
#include "taskstep/plan/state.hpp"
#include "taskstep/plan/step.hpp"
#include "taskstep/plan/tree.hpp"
