// A consumer of taskstep::containers: the layer unpacker (libarchive, fmt) reports a missing layer.
#include <cstdio>
#include <string>

#include "taskstep/image/registry/unpack.hpp"

int main() {
  auto r = taskstep::image::apply_layer("/nonexistent/layer.tar", "/nonexistent/rootfs", "a layer");
  if (r || r.error().message().find("cannot unpack a layer") == std::string::npos) {
    std::puts("consumer: apply_layer did not fail as expected");
    return 1;
  }
  std::puts("consumer containers ok");
  return 0;
}
