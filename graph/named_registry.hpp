// One idiom for every named extension point (attention kinds, optimisers,
// learning-rate schedules): a table of entries, each a name, one line of help
// and a factory. Extending Loom means adding one entry; the command line's
// --help, its error messages and the tests all iterate the table, so no list of
// names is ever copied by hand. Ops have their own registry (graph/op_def.hpp)
// because an op is a record of functions, not a factory.
#pragma once
#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loom {

template <class Product, class... Args>
class NamedRegistry {
 public:
  using Factory = std::function<Product(Args...)>;
  struct Entry {
    std::string name;
    std::string help;  // one line for --help
    Factory make;
  };

  // `kind` names the table in messages: "attention", "optimizer".
  explicit NamedRegistry(std::string kind) : kind_(std::move(kind)) {}

  // Throws std::invalid_argument for an empty or taken name, or no factory.
  void add(std::string name, std::string help, Factory make) {
    if (name.empty()) throw std::invalid_argument("register " + kind_ + ": the name is empty");
    if (!make) throw std::invalid_argument("register " + kind_ + ": no factory given for '" + name + "'");
    if (contains(name))
      throw std::invalid_argument("register " + kind_ + ": '" + name + "' is already registered (known: " +
                                  names_text() + ")");
    auto at = std::lower_bound(entries_.begin(), entries_.end(), name,
                               [](const Entry& e, const std::string& n) { return e.name < n; });
    entries_.insert(at, Entry{std::move(name), std::move(help), std::move(make)});
  }

  bool contains(std::string_view name) const { return find(name) != nullptr; }

  // Throws std::invalid_argument naming the unknown name and every known one.
  const Entry& get(std::string_view name) const {
    if (const Entry* e = find(name)) return *e;
    throw std::invalid_argument("unknown " + kind_ + " '" + std::string(name) + "'; known: " + names_text());
  }

  Product make(std::string_view name, Args... args) const { return get(name).make(std::forward<Args>(args)...); }

  // Sorted by name.
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) out.push_back(e.name);
    return out;
  }
  // One line per entry, "  name  help", names padded to one column (--help).
  std::string help_lines() const {
    size_t width = 0;
    for (const Entry& e : entries_) width = std::max(width, e.name.size());
    std::string out;
    for (const Entry& e : entries_) out += "  " + e.name + std::string(width - e.name.size() + 2, ' ') + e.help + "\n";
    return out;
  }
  // "a, b, c", or with another separator ("a | b | c" for an option).
  std::string names_text(std::string_view separator = ", ") const {
    std::string out;
    for (const Entry& e : entries_) out += (out.empty() ? "" : std::string(separator)) + e.name;
    return out;
  }

 private:
  const Entry* find(std::string_view name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }

  std::string kind_;
  std::vector<Entry> entries_;
};

}  // namespace loom
