#include "io/monotonic_clock.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <time.h>

#include <cstdint>
#include <cstring>

namespace io {
namespace {

using ClockGettime = int (*)(clockid_t, timespec*);

// The vDSO is a whole ELF image mapped at AT_SYSINFO_EHDR: its dynamic symbol table names the
// function, at an address relative to where the image was linked.
ClockGettime find_in_vdso() noexcept {
  const auto base = static_cast<std::uintptr_t>(getauxval(AT_SYSINFO_EHDR));
  if (base == 0) return nullptr;
  const auto* header = reinterpret_cast<const ElfW(Ehdr)*>(base);
  if (std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_shoff == 0 ||
      header->e_shentsize != sizeof(ElfW(Shdr))) {
    return nullptr;
  }
  std::uintptr_t linked_at = 0;  // where the image's first byte was linked
  bool loaded = false;
  const auto* segments = reinterpret_cast<const ElfW(Phdr)*>(base + header->e_phoff);
  for (int i = 0; i < header->e_phnum; ++i) {
    if (segments[i].p_type == PT_LOAD && segments[i].p_offset == 0) {
      linked_at = segments[i].p_vaddr;
      loaded = true;
      break;
    }
  }
  if (!loaded) return nullptr;
  const auto* sections = reinterpret_cast<const ElfW(Shdr)*>(base + header->e_shoff);
  for (int i = 0; i < header->e_shnum; ++i) {
    const ElfW(Shdr)& table = sections[i];
    if (table.sh_type != SHT_DYNSYM || table.sh_entsize != sizeof(ElfW(Sym)) ||
        table.sh_link >= header->e_shnum) {
      continue;
    }
    const auto* symbols = reinterpret_cast<const ElfW(Sym)*>(base + table.sh_offset);
    const auto* names = reinterpret_cast<const char*>(base + sections[table.sh_link].sh_offset);
    for (std::size_t s = 0; s < table.sh_size / sizeof(ElfW(Sym)); ++s) {
      const ElfW(Sym)& symbol = symbols[s];
      if ((symbol.st_info & 0xf) != STT_FUNC || symbol.st_shndx == SHN_UNDEF) continue;
      const char* name = names + symbol.st_name;
      // x86-64's name, then arm64's.
      if (std::strcmp(name, "__vdso_clock_gettime") != 0 &&
          std::strcmp(name, "__kernel_clock_gettime") != 0) {
        continue;
      }
      return reinterpret_cast<ClockGettime>(base + symbol.st_value - linked_at);
    }
  }
  return nullptr;
}

// Looked up once, before main (the image never moves); checked with one call.
const ClockGettime vdso_clock_gettime = [] {
  ClockGettime found = find_in_vdso();
  timespec probe{};
  return found && found(CLOCK_MONOTONIC, &probe) == 0 ? found : nullptr;
}();

}  // namespace

std::chrono::nanoseconds monotonic_now() noexcept {
  timespec now{};
  if (vdso_clock_gettime) {
    vdso_clock_gettime(CLOCK_MONOTONIC, &now);
  } else {
    ::clock_gettime(CLOCK_MONOTONIC, &now);
  }
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

bool monotonic_clock_uses_vdso() noexcept { return vdso_clock_gettime != nullptr; }

}  // namespace io
