// Name resolution off the reactor thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/result.h"
#include "io/socket_address.h"
#include "io/task.h"

namespace io {

class Reactor;

// Resolves `host` without blocking the reactor: numeric addresses are parsed directly; names go
// to getaddrinfo on a worker thread that signals completion through an eventfd read by the ring.
Task<Result<std::vector<SocketAddress>>> resolve(Reactor& reactor, std::string host,
                                                 std::uint16_t port);

}  // namespace io
