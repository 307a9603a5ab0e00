#pragma once
//! \file
//! Pulling `registry-image` / `docker-image` images from OCI/Docker registries into a
//! content-addressed store: `taskstep::image::registry_store` (see docs/images.md). Needs the
//! `taskstep::containers` target (libcurl, libarchive, libcrypto, nlohmann-json).

#include "taskstep/image/registry/client.hpp"     // IWYU pragma: export
#include "taskstep/image/registry/http.hpp"       // IWYU pragma: export
#include "taskstep/image/registry/reference.hpp"  // IWYU pragma: export
#include "taskstep/image/registry/sha256.hpp"     // IWYU pragma: export
#include "taskstep/image/registry/store.hpp"      // IWYU pragma: export
#include "taskstep/image/registry/unpack.hpp"     // IWYU pragma: export
