// Glob patterns over object keys: '*' and '?' within one path segment, '**' across segments,
// '[abc]' / '[a-z]' / '[!x]' classes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/io/object_store.h"

namespace floe::io {

bool has_glob_characters(std::string_view pattern);
// The part before the first wildcard: what a listing can be narrowed to.
std::string glob_literal_prefix(std::string_view pattern);
// Whether `key` matches `pattern` as a whole. Malformed classes match literally.
bool glob_match(std::string_view pattern, std::string_view key);

// Lists the store under the pattern's literal prefix and keeps matching keys, sorted. A pattern
// without wildcards is checked with HEAD and yields that one object. `listed`, when given, receives
// every object the listing showed, matching or not (a GRIB file's sidecar shares its prefix).
Result<std::vector<ObjectMeta>> expand_glob(ObjectStore& store, std::string_view pattern,
                                            std::vector<ObjectMeta>* listed = nullptr);

}  // namespace floe::io
