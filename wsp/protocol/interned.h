// Interned<T>: a counted reference to the one shared, immutable copy of a value. Settings
// that every connection of a server has alike (limits, roles, pools) cost each connection one
// pointer instead of a copy: 10,000 connections, 10,000 pointers, one copy.
//
// The copies live in a process-wide table per type, guarded by a mutex (taken only when a
// reference is made or dropped, never to read), and freed when the last reference goes. T
// needs operator==; the table is searched linearly, as a process holds only a few distinct
// settings at a time.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace wsp {

template <typename T>
class Interned {
 public:
  explicit Interned(const T& value) : entry_(acquire(value)) {}
  Interned(const Interned& other) : entry_(other.entry_) {
    std::lock_guard lock(table().mutex);
    ++entry_->uses;
  }
  Interned(Interned&& other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}
  Interned& operator=(Interned other) noexcept {
    std::swap(entry_, other.entry_);
    return *this;
  }
  ~Interned() {
    if (entry_) release(entry_);
  }

  const T& operator*() const { return entry_->value; }
  const T* operator->() const { return &entry_->value; }

  // Distinct values referenced now (for tests).
  static std::size_t distinct_values() {
    std::lock_guard lock(table().mutex);
    return table().entries.size();
  }

 private:
  struct Entry {
    T value;
    std::size_t uses;
  };
  struct Table {
    std::mutex mutex;
    std::vector<std::unique_ptr<Entry>> entries;
  };
  // Never destroyed: a reference may be dropped during static destruction.
  static Table& table() {
    static Table* const instance = new Table;
    return *instance;
  }
  static Entry* acquire(const T& value) {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    for (const std::unique_ptr<Entry>& e : t.entries) {
      if (e->value == value) {
        ++e->uses;
        return e.get();
      }
    }
    t.entries.push_back(std::make_unique<Entry>(Entry{value, 1}));
    return t.entries.back().get();
  }
  static void release(Entry* entry) {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    if (--entry->uses != 0) return;
    for (std::size_t i = 0; i < t.entries.size(); ++i) {
      if (t.entries[i].get() == entry) {
        t.entries[i] = std::move(t.entries.back());
        t.entries.pop_back();
        return;
      }
    }
  }

  Entry* entry_;
};

}  // namespace wsp
