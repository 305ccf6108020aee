#include "wsp/protocol/buffer_source.h"

namespace wsp {
namespace {

class AllocatingBuffers final : public BufferSource {
 public:
  std::string take(std::size_t at_least) override {
    std::string buffer;
    buffer.reserve(at_least);
    return buffer;
  }
  void give_back(std::string&& buffer) override { std::string().swap(buffer); }
  std::size_t max_pooled_capacity() const override { return 0; }
};

}  // namespace

BufferSource& allocating_buffers() {
  static AllocatingBuffers stateless;
  return stateless;
}

}  // namespace wsp
