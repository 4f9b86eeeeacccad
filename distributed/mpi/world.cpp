// The World of an MPI job (Open MPI from Debian). Collectives are the
// non-blocking kind, completed by our own wait loop, so that every wait has a
// deadline: MPI's blocking calls would wait for a dead or stopped peer forever.
// While a rank waits it also answers "are you there?" questions on a second
// communicator; a rank whose wait times out asks every other rank, and those
// that do not answer within a grace period are the ones named as hung or dead.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "distributed/world.hpp"

namespace loom::distributed {
namespace {

using clock = std::chrono::steady_clock;
constexpr int kAskTag = 1, kAnswerTag = 2;
// MPI moves data only inside its calls, so a wait polls without sleeping
// (yielding the core to anything else runnable): a sleep between polls stalls
// a transfer of many fragments. Only a wait this long, such as one for rank 0
// translating BLEU sentences, polls each millisecond instead.
constexpr double kLongWaitS = 1.0;

double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

std::string error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, size_t(length));
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I32: return MPI_INT;
  }
  return MPI_DATATYPE_NULL;
}

}  // namespace

struct World::Impl {
  MPI_Comm comm = MPI_COMM_NULL;     // the collectives
  MPI_Comm control = MPI_COMM_NULL;  // "are you there?" while a collective hangs
  std::vector<MPI_Request> started;
  long long collectives = 0;         // completed waits: where a rank is in the job
  std::vector<long long> asked_buffer;
  std::vector<MPI_Request> unanswered;  // questions sent before an abort, never waited

  void answer_questions();
  void wait(const char* what, const World& world);
  [[noreturn]] void fail(const World& world, const std::string& message);
  [[noreturn]] void report_timeout(const World& world, const char* what, double waited);
};

World::World(WorldOptions options) : options_(options) {
  if (!launched_by_mpi_launcher()) return;  // alone: MPI is never started
  impl_ = std::make_unique<Impl>();
  int provided = 0;
  // Only the main thread calls MPI; OpenMP threads never do.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm);
  MPI_Comm_dup(MPI_COMM_WORLD, &impl_->control);
  MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(impl_->control, MPI_ERRORS_RETURN);
  MPI_Comm_rank(impl_->comm, &rank_);
  MPI_Comm_size(impl_->comm, &size_);
}

World::~World() {
  if (!impl_) return;
  MPI_Comm_free(&impl_->control);
  MPI_Comm_free(&impl_->comm);
  MPI_Finalize();
}

bool World::built_with_mpi() { return true; }

void World::abort(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (impl_) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

void World::Impl::fail(const World& world, const std::string& message) {
  std::fprintf(stderr, "loom train: rank %d of %d: %s; ending the job\n", world.rank(), world.size(),
               message.c_str());
  const_cast<World&>(world).abort(1);
}

void World::Impl::answer_questions() {
  for (;;) {
    int waiting = 0;
    MPI_Status status;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kAskTag, control, &waiting, &status) != MPI_SUCCESS || !waiting) return;
    long long their = 0;
    MPI_Recv(&their, 1, MPI_LONG_LONG, status.MPI_SOURCE, kAskTag, control, MPI_STATUS_IGNORE);
    MPI_Send(&collectives, 1, MPI_LONG_LONG, status.MPI_SOURCE, kAnswerTag, control);
  }
}

void World::Impl::wait(const char* what, const World& world) {
  const auto began = clock::now();
  while (!started.empty()) {
    int done = 0;
    const int code = MPI_Testall(int(started.size()), started.data(), &done, MPI_STATUSES_IGNORE);
    if (code != MPI_SUCCESS)
      fail(world, std::string(what) + " failed (" + error_text(code) + "): another rank has probably died");
    if (done) break;
    answer_questions();
    const double waited = seconds_since(began);
    if (waited > world.timeout_s()) report_timeout(world, what, waited);
    if (waited > kLongWaitS)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    else
      std::this_thread::yield();
  }
  started.clear();
  ++collectives;
}

// Asks every other rank where it is; those that do not answer are not in any
// of our waits: dead, stopped, hung, or busy for longer than the timeout.
void World::Impl::report_timeout(const World& world, const char* what, double waited) {
  asked_buffer.assign(size_t(world.size()), collectives);
  for (int r = 0; r < world.size(); ++r) {
    if (r == world.rank()) continue;
    MPI_Request request;
    MPI_Isend(&asked_buffer[size_t(r)], 1, MPI_LONG_LONG, r, kAskTag, control, &request);
    unanswered.push_back(request);
  }
  std::vector<bool> answered(size_t(world.size()), false);
  answered[size_t(world.rank())] = true;
  const double grace = std::clamp(world.timeout_s() / 4, 1.0, 10.0);
  const auto asked = clock::now();
  while (seconds_since(asked) < grace && std::count(answered.begin(), answered.end(), false) > 0) {
    answer_questions();
    int arrived = 0;
    MPI_Status status;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kAnswerTag, control, &arrived, &status) == MPI_SUCCESS && arrived) {
      long long where = 0;
      MPI_Recv(&where, 1, MPI_LONG_LONG, status.MPI_SOURCE, kAnswerTag, control, MPI_STATUS_IGNORE);
      answered[size_t(status.MPI_SOURCE)] = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::string silent;
  for (int r = 0; r < world.size(); ++r)
    if (!answered[size_t(r)]) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
  char text[160];
  std::snprintf(text, sizeof text, "%s did not complete within %.0f s (--dist-timeout)", what, waited);
  fail(world, std::string(text) + (silent.empty() ? "; every rank answered, so they disagree on what comes next"
                                                  : "; no answer from rank " + silent +
                                                        " (dead, stopped, hung, or slower than the timeout)"));
}

bool World::any(bool local, const char* what) {
  if (!impl_) return local;
  int value = local ? 1 : 0;
  MPI_Request request;
  MPI_Iallreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_LOR, impl_->comm, &request);
  impl_->started.push_back(request);
  impl_->wait(what, *this);
  return value != 0;
}

void World::sum(double* values, size_t n, const char* what) {
  if (!impl_) return;
  start_sum(values, int64_t(n), DType::F64);
  impl_->wait(what, *this);
}

void World::broadcast(void* data, size_t bytes, const char* what) {
  if (!impl_) return;
  auto* p = static_cast<char*>(data);
  for (size_t done = 0; done < bytes;) {
    const size_t chunk = std::min<size_t>(bytes - done, INT_MAX);
    MPI_Request request;
    MPI_Ibcast(p + done, int(chunk), MPI_BYTE, 0, impl_->comm, &request);
    impl_->started.push_back(request);
    done += chunk;
  }
  impl_->wait(what, *this);
}

void World::start_sum(void* data, int64_t n, DType dtype) {
  if (!impl_) return;
  auto* p = static_cast<char*>(data);
  const size_t element = dtype_size(dtype);
  for (int64_t done = 0; done < n;) {
    const int64_t chunk = std::min<int64_t>(n - done, INT_MAX);
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, p + size_t(done) * element, int(chunk), mpi_type(dtype), MPI_SUM, impl_->comm,
                   &request);
    impl_->started.push_back(request);
    done += chunk;
  }
}

void World::progress() {
  if (!impl_ || impl_->started.empty()) return;
  int done = 0;
  MPI_Testall(int(impl_->started.size()), impl_->started.data(), &done, MPI_STATUSES_IGNORE);
  if (done) impl_->started.clear();
}

void World::wait_started(const char* what) {
  if (impl_) impl_->wait(what, *this);
}

}  // namespace loom::distributed
