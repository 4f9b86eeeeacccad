#include "graph/attrs.hpp"

#include <cstdio>

#include "graph/errors.hpp"

namespace loom {

Attrs::Attrs(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  for (auto& [k, v] : kv) set(k, v);
}

Attrs& Attrs::set(std::string_view key, AttrValue value) {
  for (auto& [k, v] : items_)
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  items_.emplace_back(std::string(key), std::move(value));
  return *this;
}

const AttrValue* Attrs::find(std::string_view key) const {
  for (auto& [k, v] : items_)
    if (k == key) return &v;
  return nullptr;
}

const AttrValue& Attrs::require(std::string_view key) const {
  if (auto* v = find(key)) return *v;
  throw GraphError("missing attribute '" + std::string(key) + "' (have: " + str() + ")");
}

bool Attrs::has(std::string_view key) const { return find(key) != nullptr; }

template <class T>
static const T& typed(const AttrValue& v, std::string_view key, const char* want) {
  if (auto* p = std::get_if<T>(&v)) return *p;
  throw GraphError("attribute '" + std::string(key) + "' is not " + want);
}

int64_t Attrs::get_int(std::string_view key) const { return typed<int64_t>(require(key), key, "an int"); }
int64_t Attrs::get_int(std::string_view key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}
double Attrs::get_float(std::string_view key) const {
  const AttrValue& v = require(key);
  if (auto* i = std::get_if<int64_t>(&v)) return double(*i);
  return typed<double>(v, key, "a float");
}
double Attrs::get_float(std::string_view key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}
const std::vector<int64_t>& Attrs::get_ints(std::string_view key) const {
  return typed<std::vector<int64_t>>(require(key), key, "an int list");
}
const std::string& Attrs::get_string(std::string_view key) const {
  return typed<std::string>(require(key), key, "a string");
}

static std::string value_str(const AttrValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", *d);
    return buf;
  }
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  std::string out = "[";
  for (int64_t x : std::get<std::vector<int64_t>>(v)) out += (out.size() > 1 ? "," : "") + std::to_string(x);
  return out + "]";
}

std::string Attrs::str() const {
  std::string out;
  for (auto& [k, v] : items_) out += (out.empty() ? "" : ", ") + k + "=" + value_str(v);
  return out;
}

}  // namespace loom
