#include "train/output_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <vector>

namespace loom::train {
namespace {

namespace fs = std::filesystem;

std::string pid_in(int fd) {
  char text[32] = {};
  ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid = n > 0 ? std::string(text, size_t(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown (it has not written it yet)" : pid;
}

// Returns the open, locked lock file, or throws naming the holder.
int lock_folder(const std::string& dir) {
  const std::string path = (fs::path(dir) / ".lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw std::runtime_error("cannot open the lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = pid_in(fd);
    ::close(fd);
    if (error == EWOULDBLOCK)
      throw OutputFolderBusy("the output folder " + dir + " is in use by another training run (pid " + holder +
                             ", holding " + path + "); wait for it to end or choose another --out");
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    // The lock holds without the pid; a rival's message then lacks it.
  }
  return fd;
}

void refuse_or_clear_earlier_run(const std::string& dir, bool overwrite, std::ostream& log) {
  std::vector<std::string> present;
  for (const char* name : kRunFiles)
    if (fs::exists(fs::path(dir) / name)) present.push_back(name);
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".train") && (name.starts_with("last.safetensors.") || name.starts_with("best.safetensors.")) &&
        std::find(present.begin(), present.end(), name) == present.end())
      present.push_back(name);  // a sidecar named after its model's hash
  }
  if (present.empty()) return;
  std::string names;
  for (const std::string& n : present) names += (names.empty() ? "" : ", ") + n;
  if (!overwrite)
    throw OutputFolderNotEmpty("the output folder " + dir + " already holds an earlier run's " + names +
                               "; pass --resume " + (fs::path(dir) / "last.safetensors").string() +
                               " to continue it, --overwrite to replace it, or another --out");
  for (const std::string& n : present) fs::remove(fs::path(dir) / n);
  log << "--overwrite: removed " << names << " from " << dir << "\n";
}

// Only a killed run leaves "<file>.tmp.<pid>..." behind; with the folder
// locked, no live run is writing one.
void remove_stale_temporaries(const std::string& dir, std::ostream& log) {
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find(".tmp.") == std::string::npos) continue;
    std::error_code ec;
    fs::remove(entry.path(), ec);
    if (!ec) log << "removed " << entry.path().string() << ", a temporary file left by an interrupted run\n";
  }
}

}  // namespace

OutputFolderClaim::OutputFolderClaim(const std::string& dir, bool resuming, bool overwrite, std::ostream& log) {
  fs::create_directories(dir);
  lock_fd_ = lock_folder(dir);
  try {
    if (!resuming) refuse_or_clear_earlier_run(dir, overwrite, log);
    remove_stale_temporaries(dir, log);
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

OutputFolderClaim::~OutputFolderClaim() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace loom::train
