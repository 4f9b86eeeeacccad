// Typed node attributes: a small ordered list of (key, value) pairs.
// Values are int, float, int list or string; equality and printing make
// attributes usable by CSE and by `loom explain`.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loom {

using AttrValue = std::variant<int64_t, double, std::vector<int64_t>, std::string>;

class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> kv);

  Attrs& set(std::string_view key, AttrValue value);
  bool has(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  int64_t get_int(std::string_view key, int64_t fallback) const;
  double get_float(std::string_view key) const;
  double get_float(std::string_view key, double fallback) const;
  const std::vector<int64_t>& get_ints(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;

  bool operator==(const Attrs& o) const { return items_ == o.items_; }
  std::string str() const;  // "axis=1, keepdims=0"
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }

 private:
  const AttrValue* find(std::string_view key) const;
  const AttrValue& require(std::string_view key) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};

}  // namespace loom
