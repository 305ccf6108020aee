// Interned<T>: a counted reference to the one shared, immutable copy of a value. Settings
// that every connection of a server has alike (limits, roles, pools) cost each connection one
// pointer instead of a copy: 10,000 connections, 10,000 pointers, one copy.
//
// The copies live in a process-wide table per type, guarded by a mutex (taken only when a
// reference is made or dropped, never to read), and freed when the last reference goes. T
// needs operator==. A type with std::hash (a requested URL: one per distinct path, maybe one
// per connection) is found by hash; others (settings: a process holds a few distinct ones at a
// time) by a linear search.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wsp {

template <typename T>
class Interned {
 public:
  explicit Interned(const T& value) : entry_(acquire(value)) {}
  Interned(const Interned& other) : entry_(other.entry_) {
    std::lock_guard lock(table().mutex);
    ++entry_->second;
  }
  Interned(Interned&& other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}
  Interned& operator=(Interned other) noexcept {
    std::swap(entry_, other.entry_);
    return *this;
  }
  ~Interned() {
    if (entry_) release(entry_);
  }

  const T& operator*() const { return entry_->first; }
  const T* operator->() const { return &entry_->first; }

  // Distinct values referenced now (for tests).
  static std::size_t distinct_values() {
    std::lock_guard lock(table().mutex);
    return table().entries.size();
  }

 private:
  static constexpr bool kHashed = requires(const T& v) {
    { std::hash<T>{}(v) } -> std::convertible_to<std::size_t>;
  };
  using Entry = std::pair<const T, std::size_t>;  // the value and its references
  // A map's entries keep their addresses when it grows; so do the vector's (each its own).
  using Entries = std::conditional_t<kHashed, std::unordered_map<T, std::size_t>,
                                     std::vector<std::unique_ptr<Entry>>>;
  struct Table {
    std::mutex mutex;
    Entries entries;
  };
  // Never destroyed: a reference may be dropped during static destruction.
  static Table& table() {
    static Table* const instance = new Table;
    return *instance;
  }
  static Entry* acquire(const T& value) {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    if constexpr (kHashed) {
      Entry& entry = *t.entries.try_emplace(value, 0).first;
      ++entry.second;
      return &entry;
    } else {
      for (const std::unique_ptr<Entry>& e : t.entries) {
        if (e->first == value) {
          ++e->second;
          return e.get();
        }
      }
      t.entries.push_back(std::make_unique<Entry>(value, 1));
      return t.entries.back().get();
    }
  }
  static void release(Entry* entry) {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    if (--entry->second != 0) return;
    if constexpr (kHashed) {
      t.entries.erase(t.entries.find(entry->first));
    } else {
      for (std::size_t i = 0; i < t.entries.size(); ++i) {
        if (t.entries[i].get() == entry) {
          t.entries[i] = std::move(t.entries.back());
          t.entries.pop_back();
          return;
        }
      }
    }
  }

  Entry* entry_;
};

}  // namespace wsp
