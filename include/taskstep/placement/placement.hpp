#pragma once
//! \file
//! Umbrella header for placement: candidate workers, the `placement_strategy` concept, Concourse's
//! four strategies plus `first_fit` and `chain`, the final random pick, and the waiting loop.

#include "taskstep/placement/chain.hpp"
#include "taskstep/placement/choose.hpp"
#include "taskstep/placement/concepts.hpp"
#include "taskstep/placement/fewest_build_containers.hpp"
#include "taskstep/placement/first_fit.hpp"
#include "taskstep/placement/limit_active_tasks.hpp"
#include "taskstep/placement/random_placement.hpp"
#include "taskstep/placement/satisfying.hpp"
#include "taskstep/placement/volume_locality.hpp"
#include "taskstep/placement/waiting.hpp"
