// LocalStore over POSIX: pread for reads; temp file + link/rename under a directory flock for writes.
#include "floe/io/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

namespace floe::io {
namespace {

constexpr std::string_view kTempMarker = ".floe-tmp-";

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

Error errno_error(int err, std::string_view action, std::string_view path) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::kNotFound;
  if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  if (err == EISDIR) code = ErrorCode::kInvalidArgument;
  return make_error(code, "{} {}: {}", action, path, std::strerror(err));
}

std::string etag_of(const struct stat& info) {
  int64_t mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
  return fmt::format("{:x}-{:x}-{:x}", static_cast<uint64_t>(info.st_ino), mtime_ns,
                     static_cast<uint64_t>(info.st_size));
}

Status read_fully(int fd, std::byte* destination, uint64_t length, uint64_t offset,
                  std::string_view path) {
  uint64_t done = 0;
  while (done < length) {
    ssize_t got = ::pread(fd, destination + done, length - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read", path);
    }
    if (got == 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "read {}: range {}-{} is past the end of the file (got {} of {} bytes)", path,
                        offset, offset + length - 1, done, length);
    }
    done += static_cast<uint64_t>(got);
  }
  return ok_status();
}

Status write_fully(int fd, const Bytes& data, std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t wrote = ::write(fd, data.data() + done, data.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write", path);
    }
    done += static_cast<size_t>(wrote);
  }
  return ok_status();
}

std::string temp_name_for(const std::string& path) {
  std::random_device device;
  return fmt::format("{}{}{:016x}", path, kTempMarker,
                     (static_cast<uint64_t>(device()) << 32) | device());
}

Status make_parent_directories(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return make_error(ErrorCode::kIo, "create directory {}: {}", parent.string(), ec.message());
  return ok_status();
}

Result<ObjectMeta> stat_object(const std::string& path, std::string key) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return errno_error(errno, "stat", path);
  if (S_ISDIR(info.st_mode)) {
    return make_error(ErrorCode::kNotFound, "{} is a directory, not an object", path);
  }
  return ObjectMeta{std::move(key), static_cast<uint64_t>(info.st_size), etag_of(info),
                    static_cast<int64_t>(info.st_mtim.tv_sec)};
}

Status check_preconditions(const std::string& path, const GetOptions& options, int fd) {
  if (!options.if_match && !options.if_unmodified_since) return ok_status();
  struct stat info {};
  if (::fstat(fd, &info) != 0) return errno_error(errno, "stat", path);
  if (options.if_match && *options.if_match != etag_of(info)) {
    return make_error(ErrorCode::kPreconditionFailed,
                      "{} changed since it was recorded (etag {} is now {}); re-run the job that "
                      "referenced it", path, *options.if_match, etag_of(info));
  }
  if (options.if_unmodified_since && info.st_mtim.tv_sec > *options.if_unmodified_since) {
    return make_error(ErrorCode::kPreconditionFailed,
                      "{} was modified after it was recorded; re-run the job that referenced it", path);
  }
  return ok_status();
}

}  // namespace

LocalStore::LocalStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string LocalStore::path_of(std::string_view key) const {
  if (root_.empty()) return std::string(key);
  std::string path = root_;
  if (!key.empty()) {
    path += '/';
    path += key;
  }
  return path;
}

std::string LocalStore::url_for(std::string_view key) const { return path_of(key); }

Result<Bytes> LocalStore::get(std::string_view key, const GetOptions& options) {
  std::string path = path_of(key);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "open", path);
  FLOE_RETURN_IF_ERROR(check_preconditions(path, options, fd.get()));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return errno_error(errno, "stat", path);
  if (S_ISDIR(info.st_mode)) return make_error(ErrorCode::kNotFound, "{} is a directory", path);
  uint64_t size = static_cast<uint64_t>(info.st_size);
  uint64_t offset = options.offset.value_or(0);
  if (offset > size) {
    return make_error(ErrorCode::kInvalidArgument, "read {}: offset {} is past the end ({} bytes)",
                      path, offset, size);
  }
  uint64_t length = options.length ? *options.length : size - offset;
  std::vector<std::byte> buffer(length);
  FLOE_RETURN_IF_ERROR(read_fully(fd.get(), buffer.data(), length, offset, path));
  return Bytes::from_vector(std::move(buffer));
}

std::vector<Status> LocalStore::read_ranges_into(std::span<const RangeRead> reads) {
  std::vector<Status> out(reads.size());
  // Reads of the same file reuse one descriptor: sort indices by key.
  std::vector<size_t> order(reads.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return reads[a].key < reads[b].key; });
  std::string open_path;
  int open_fd = -1;
  int open_errno = 0;
  for (size_t index : order) {
    const RangeRead& read = reads[index];
    std::string path = path_of(read.key);
    if (path != open_path) {
      if (open_fd >= 0) ::close(open_fd);
      open_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      open_errno = open_fd < 0 ? errno : 0;
      open_path = path;
    }
    if (open_fd < 0) {
      out[index] = errno_error(open_errno, "open", path);
      continue;
    }
    if (read.preconditions) {
      Status checked = check_preconditions(path, *read.preconditions, open_fd);
      if (!checked.ok()) {
        out[index] = std::move(checked);
        continue;
      }
    }
    out[index] = read_fully(open_fd, read.destination, read.length, read.offset, path);
  }
  if (open_fd >= 0) ::close(open_fd);
  return out;
}

Result<ObjectMeta> LocalStore::head(std::string_view key) {
  return stat_object(path_of(key), std::string(key));
}

Result<PutResult> LocalStore::put(std::string_view key, Bytes data, const PutOptions& options) {
  std::string path = path_of(key);
  FLOE_RETURN_IF_ERROR(make_parent_directories(path));
  std::string temp = temp_name_for(path);
  {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) return errno_error(errno, "create", temp);
    Status written = write_fully(fd.get(), data, temp);
    if (written.ok() && ::fsync(fd.get()) != 0) written = errno_error(errno, "fsync", temp);
    if (!written.ok()) {
      ::unlink(temp.c_str());
      return std::move(written).error();
    }
  }
  auto cleanup = [&] { ::unlink(temp.c_str()); };

  if (options.if_none_match) {
    // link() fails atomically if the name exists, between processes too.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      int err = errno;
      cleanup();
      if (err == EEXIST) {
        return make_error(ErrorCode::kPreconditionFailed,
                          "{} already exists (create-if-absent lost to another writer)", path);
      }
      return errno_error(err, "link", path);
    }
    cleanup();
  } else if (options.if_match) {
    // Compare-and-swap: flock on the parent directory serializes replacers across processes;
    // rename() keeps readers safe (they see the old or the new file, never a mix).
    std::string parent = std::filesystem::path(path).parent_path().string();
    FileDescriptor dir(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid() || ::flock(dir.get(), LOCK_EX) != 0) {
      int err = errno;
      cleanup();
      return errno_error(err, "lock directory of", path);
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      int err = errno;
      cleanup();
      if (err == ENOENT) {
        return make_error(ErrorCode::kPreconditionFailed,
                          "{} does not exist, so it cannot match etag {}", path, *options.if_match);
      }
      return errno_error(err, "stat", path);
    }
    if (etag_of(info) != *options.if_match) {
      cleanup();
      return make_error(ErrorCode::kPreconditionFailed,
                        "{} was changed by another writer (expected etag {}, found {})", path,
                        *options.if_match, etag_of(info));
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      int err = errno;
      cleanup();
      return errno_error(err, "rename onto", path);
    }
  } else if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    cleanup();
    return errno_error(err, "rename onto", path);
  }
  FLOE_ASSIGN_OR_RETURN(ObjectMeta meta, stat_object(path, std::string(key)));
  return PutResult{meta.etag};
}

Status LocalStore::del(std::string_view key) {
  std::string path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error(errno, "delete", path);
  return ok_status();
}

Result<ListResult> LocalStore::list(std::string_view prefix, std::string_view delimiter) {
  // Walk from the deepest directory the prefix names; filter by the full prefix string.
  std::string prefix_text(prefix);
  size_t last_slash = prefix_text.rfind('/');
  std::string start_dir = last_slash == std::string::npos ? "" : prefix_text.substr(0, last_slash);
  std::string start_path = path_of(start_dir);
  if (start_path.empty()) start_path = ".";

  ListResult result;
  std::error_code ec;
  if (!std::filesystem::is_directory(start_path, ec)) return result;
  std::vector<std::string> prefixes;
  // Symbolic links are keys under the link's own name (data directories are often links to other disks);
  // linked directories are followed unless they lead back to a directory already walked (a cycle), and never
  // deeper than kMaxDepth.
  constexpr int kMaxDepth = 32;
  std::set<std::filesystem::path> walked{std::filesystem::canonical(start_path, ec)};
  ec.clear();
  auto options = std::filesystem::directory_options::skip_permission_denied |
                 std::filesystem::directory_options::follow_directory_symlink;
  for (auto it = std::filesystem::recursive_directory_iterator(start_path, options, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string relative = it->path().lexically_relative(start_path).generic_string();
    std::string key = start_dir.empty() ? relative : start_dir + "/" + relative;
    bool is_directory = it->is_directory(ec);
    if (ec) {  // a dangling link
      ec.clear();
      continue;
    }
    if (is_directory) {
      // Prune directories that cannot contain matching keys.
      std::string as_prefix = key + "/";
      bool may_match = as_prefix.starts_with(prefix_text) || prefix_text.starts_with(as_prefix);
      bool first_visit = true;
      if (may_match) {
        std::filesystem::path target = std::filesystem::canonical(it->path(), ec);
        first_visit = !ec && walked.insert(target).second;
        ec.clear();
      }
      if (!may_match || !first_visit || it.depth() >= kMaxDepth) it.disable_recursion_pending();
      continue;
    }
    if (!key.starts_with(prefix_text) || key.find(kTempMarker) != std::string::npos) continue;
    if (!delimiter.empty()) {
      size_t cut = key.find(delimiter, prefix_text.size());
      if (cut != std::string::npos) {
        prefixes.push_back(key.substr(0, cut + delimiter.size()));
        continue;
      }
    }
    struct stat info {};
    if (::stat(it->path().c_str(), &info) != 0) continue;  // removed while listing
    result.objects.push_back(ObjectMeta{key, static_cast<uint64_t>(info.st_size), etag_of(info),
                                        static_cast<int64_t>(info.st_mtim.tv_sec)});
  }
  if (ec) return make_error(ErrorCode::kIo, "list {}: {}", start_path, ec.message());
  std::sort(result.objects.begin(), result.objects.end(),
            [](const ObjectMeta& a, const ObjectMeta& b) { return a.key < b.key; });
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  result.common_prefixes = std::move(prefixes);
  return result;
}

}  // namespace floe::io
