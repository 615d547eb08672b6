// Glob matching by dynamic programming over (pattern position, key position), and expansion by listing.
#include "floe/io/glob.h"

#include <algorithm>

namespace floe::io {
namespace {

// Matches a class starting at pattern[i] == '['; returns the index after ']' or npos if malformed.
size_t match_class(std::string_view pattern, size_t i, char c, bool& matched) {
  size_t j = i + 1;
  bool negate = j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^');
  if (negate) ++j;
  bool any = false;
  bool first = true;
  while (j < pattern.size() && (pattern[j] != ']' || first)) {
    first = false;
    if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
      if (c >= pattern[j] && c <= pattern[j + 2]) any = true;
      j += 3;
    } else {
      if (c == pattern[j]) any = true;
      ++j;
    }
  }
  if (j >= pattern.size()) return std::string_view::npos;
  matched = any != negate && c != '/';
  return j + 1;
}

}  // namespace

bool has_glob_characters(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

std::string glob_literal_prefix(std::string_view pattern) {
  return std::string(pattern.substr(0, std::min(pattern.find_first_of("*?["), pattern.size())));
}

bool glob_match(std::string_view pattern, std::string_view key) {
  // reachable[k] == true: pattern[0, p) can match key[0, k).
  std::vector<char> reachable(key.size() + 1, 0), next(key.size() + 1, 0);
  reachable[0] = 1;
  size_t p = 0;
  while (p < pattern.size()) {
    std::fill(next.begin(), next.end(), 0);
    char token = pattern[p];
    size_t advance = 1;
    if (token == '*' && p + 1 < pattern.size() && pattern[p + 1] == '*') {
      bool slash_after = p + 2 < pattern.size() && pattern[p + 2] == '/';
      if (slash_after) {
        // "**/": zero or more whole segments, each ending in '/'.
        advance = 3;
        bool any_before = false;
        for (size_t k = 0; k <= key.size(); ++k) {
          next[k] = reachable[k] || (k > 0 && key[k - 1] == '/' && any_before);
          if (reachable[k]) any_before = true;
        }
      } else {
        // "**": anything, '/' included.
        advance = 2;
        bool any = false;
        for (size_t k = 0; k <= key.size(); ++k) {
          any = any || reachable[k];
          next[k] = any;
        }
      }
    } else if (token == '*') {
      for (size_t k = 0, any = 0; k <= key.size(); ++k) {
        any = reachable[k] ? 1 : any;
        if (any) next[k] = 1;
        if (k < key.size() && key[k] == '/') any = 0;
      }
    } else if (token == '?') {
      for (size_t k = 0; k < key.size(); ++k) {
        if (reachable[k] && key[k] != '/') next[k + 1] = 1;
      }
    } else if (token == '[') {
      size_t end = std::string_view::npos;
      for (size_t k = 0; k < key.size(); ++k) {
        bool matched = false;
        end = match_class(pattern, p, key[k], matched);
        if (end == std::string_view::npos) break;
        if (reachable[k] && matched) next[k + 1] = 1;
      }
      if (key.empty()) {
        bool unused = false;
        end = match_class(pattern, p, '\0', unused);
      }
      if (end == std::string_view::npos) {
        // Malformed class: a literal '['.
        std::fill(next.begin(), next.end(), 0);
        for (size_t k = 0; k < key.size(); ++k) {
          if (reachable[k] && key[k] == '[') next[k + 1] = 1;
        }
      } else {
        advance = end - p;
      }
    } else {
      for (size_t k = 0; k < key.size(); ++k) {
        if (reachable[k] && key[k] == token) next[k + 1] = 1;
      }
    }
    std::swap(reachable, next);
    p += advance;
    if (std::none_of(reachable.begin(), reachable.end(), [](char v) { return v != 0; })) return false;
  }
  return reachable[key.size()] != 0;
}

Result<std::vector<ObjectMeta>> expand_glob(ObjectStore& store, std::string_view pattern,
                                            std::vector<ObjectMeta>* listed) {
  if (!has_glob_characters(pattern)) {
    FLOE_ASSIGN_OR_RETURN(ObjectMeta meta, store.head(pattern));
    return std::vector<ObjectMeta>{meta};
  }
  std::string prefix = glob_literal_prefix(pattern);
  FLOE_ASSIGN_OR_RETURN(ListResult listing, store.list(prefix));
  std::vector<ObjectMeta> matches;
  for (ObjectMeta& meta : listing.objects) {
    if (glob_match(pattern, meta.key)) matches.push_back(meta);
  }
  if (listed) *listed = std::move(listing.objects);
  return matches;
}

}  // namespace floe::io
