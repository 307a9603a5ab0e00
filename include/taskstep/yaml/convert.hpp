#pragma once
//! \file
//! The value conversions of Concourse's Go stack that the layers above `yaml/` reuse on their own
//! values (`config/`: `-v`/`-y`/`-l` vars, step params, the yaml-cpp adapter). Each mirrors one Go
//! step; the task-file decoder (decode.hpp) applies the same functions, so there is one copy of each.
//! Everything else in `yaml::detail` stays an internal of the parser and the decoder.

#include <string>
#include <string_view>

#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::yaml {

//! sigs.k8s.io/yaml's `convertToJSONableObject`: every map key, at every depth, becomes the JSON
//! string Go would make of it (`1` → `"1"`, `true` → `"true"`); a key that cannot be one (a map or
//! a sequence) is an error.
using detail::stringify_keys;

//! The name encoding/json gives a value's kind in its errors: `null`, `bool`, `string`, `number`,
//! `array`, `object` (`json: cannot unmarshal array into ...`).
using detail::json_kind;

//! Strings as encoding/json hands them back: each invalid UTF-8 byte becomes U+FFFD, at every depth
//! (keys too).
using detail::sanitize_utf8;

//! A JSON value as Go's `json.Unmarshal` into `interface{}` holds it: every number a float64, maps
//! string-keyed with their keys sorted.
using detail::to_go_interface;

//! A value as go-yaml reads back the JSON Go wrote for it: integral floats come back as integers
//! (so `-0` is `0`); a control character in a string is `yaml: control characters are not allowed`.
using detail::json_to_yaml_roundtrip;

//! `atc.CoercedString`: a string verbatim, `null` empty, anything else as its JSON text.
using detail::coerced_string;

//! go-yaml's resolution of one scalar: `text` as a plain scalar (`plain`: unquoted, so `yes` is a
//! bool and `0x1F` an int) or a quoted one (always a string), under an explicit `tag` when not empty
//! (`tag:yaml.org,2002:int`, `!!str`...). A tag the text does not fit is
//! `cannot decode !!str `abc` as a !!int`.
inline result<value> resolve_scalar(std::string_view text, bool plain, std::string_view tag = {}) {
  detail::node n;
  n.text = std::string(text);
  n.implicit = plain && tag.empty();
  n.tag = std::string(tag);
  return detail::resolve_scalar(n);
}

}  // namespace taskstep::yaml
