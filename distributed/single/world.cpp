// A world of one rank: Loom built without MPI. Every collective is the
// identity, so the trainer runs the same code as with MPI and one rank.
#include <cstdlib>
#include <string>

#include "distributed/world.hpp"

namespace loom::distributed {

struct World::Impl {};

World::World(WorldOptions options) : options_(options) {
  const char* ranks = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!ranks) ranks = std::getenv("PMI_SIZE");
  if (ranks && std::atoi(ranks) > 1)
    throw std::runtime_error("started as one of " + std::string(ranks) +
                             " MPI ranks, but this loom was built without MPI, so each rank would train on its own; "
                             "install libopenmpi-dev and configure again (docs/DISTRIBUTED.md)");
}

World::~World() = default;

bool World::built_with_mpi() { return false; }
void World::abort(int exit_code) { std::_Exit(exit_code); }
bool World::any(bool local, const char*) { return local; }
void World::sum(double*, size_t, const char*) {}
void World::broadcast(void*, size_t, const char*) {}
void World::start_sum(void*, int64_t, DType) {}
void World::progress() {}
void World::wait_started(const char*) {}

}  // namespace loom::distributed
