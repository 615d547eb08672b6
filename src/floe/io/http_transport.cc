// The libcurl-multi loop behind HttpTransport: a queue of transfers, one thread driving curl_multi_poll.
#include "floe/io/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace floe::io {
namespace {

struct Batch {
  std::mutex mutex;
  std::condition_variable done;
  size_t remaining = 0;
  std::vector<HttpOutcome> outcomes;
};

struct Transfer {
  HttpRequest request;
  Batch* batch = nullptr;
  size_t index = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpOutcome outcome;
  std::string body;        // when not writing to the destination
  uint64_t written = 0;    // bytes accepted into destination or body
  bool status_known = false;
  bool to_destination = false;
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    transfer->outcome.response.headers.clear();  // a new response (after 100-continue or a redirect)
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->outcome.response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                                    std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (!transfer->status_known) {
    long status = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    transfer->status_known = true;
    transfer->to_destination = transfer->request.destination && status >= 200 && status < 300;
  }
  if (transfer->to_destination) {
    if (transfer->written + bytes > transfer->request.destination_capacity) {
      transfer->outcome.body_overflow = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    std::memcpy(transfer->request.destination + transfer->written, data, bytes);
  } else {
    if (transfer->written + bytes > transfer->request.max_body_bytes) {
      transfer->outcome.body_overflow = true;
      return 0;
    }
    transfer->body.append(data, bytes);
  }
  transfer->written += bytes;
  return bytes;
}

}  // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

struct HttpTransport::Loop {
  explicit Loop(const HttpTransportOptions& transport_options) : options(transport_options) {
    static std::once_flag curl_initialized;  // libcurl requires one process-wide init before threads
    std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.max_in_flight));
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.max_per_host));
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_in_flight * 2));
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    thread = std::jthread([this](std::stop_token stop) { run(stop); });
  }

  ~Loop() {
    thread.request_stop();
    curl_multi_wakeup(multi);
    thread.join();
    for (CURL* easy : idle_handles) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }

  void submit(std::vector<std::unique_ptr<Transfer>> transfers) {
    {
      std::lock_guard lock(mutex);
      for (auto& transfer : transfers) pending.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi);
  }

  CURL* acquire_handle() {
    if (idle_handles.empty()) return curl_easy_init();
    CURL* easy = idle_handles.back();
    idle_handles.pop_back();
    curl_easy_reset(easy);
    return easy;
  }

  void start(std::unique_ptr<Transfer> transfer) {
    CURL* easy = acquire_handle();
    transfer->easy = easy;
    const HttpRequest& request = transfer->request;
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                     options.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    if (options.http2 && request.url.starts_with("https:")) curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    if (request.follow_redirects) {
      curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
    }
    if (request.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    bool sends_body = request.method == "PUT" || request.method == "POST";
    if (sends_body) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                       request.body.empty() ? "" : reinterpret_cast<const char*>(request.body.data()));
    }
    curl_slist* headers = nullptr;
    bool has_content_type = false;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
      if (lower(name) == "content-type") has_content_type = true;
    }
    if (sends_body) {
      headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
      if (!has_content_type) headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    }
    transfer->header_list = headers;
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_multi_add_handle(multi, easy);
    ++active;
    stats_requests.fetch_add(1, std::memory_order_relaxed);
    transfer.release();  // owned by the multi handle until finish()
  }

  void finish(CURL* easy, CURLcode code) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
    std::unique_ptr<Transfer> transfer(raw);
    curl_multi_remove_handle(multi, easy);
    --active;
    HttpOutcome& outcome = transfer->outcome;
    outcome.curl_code = code;
    if (code != CURLE_OK) outcome.transport_error = curl_easy_strerror(code);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &outcome.response.status);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    stats_connections.fetch_add(static_cast<uint64_t>(connects), std::memory_order_relaxed);
    stats_bytes.fetch_add(transfer->written, std::memory_order_relaxed);
    outcome.response.body_bytes = transfer->written;
    if (!transfer->to_destination) outcome.response.body = Bytes::from_string(std::move(transfer->body));
    curl_slist_free_all(transfer->header_list);
    idle_handles.push_back(easy);

    Batch* batch = transfer->batch;
    std::lock_guard lock(batch->mutex);
    batch->outcomes[transfer->index] = std::move(outcome);
    if (--batch->remaining == 0) batch->done.notify_all();
  }

  void run(std::stop_token stop) {
    while (true) {
      {
        std::lock_guard lock(mutex);
        while (!pending.empty() && active < options.max_in_flight) {
          start(std::move(pending.front()));
          pending.pop_front();
        }
        if (stop.stop_requested() && pending.empty() && active == 0) return;
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
        if (message->msg == CURLMSG_DONE) finish(message->easy_handle, message->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
  }

  HttpTransportOptions options;
  CURLM* multi = nullptr;
  std::mutex mutex;
  std::deque<std::unique_ptr<Transfer>> pending;
  size_t active = 0;  // touched only by the loop thread
  std::vector<CURL*> idle_handles;
  std::atomic<uint64_t> stats_requests{0};
  std::atomic<uint64_t> stats_bytes{0};
  std::atomic<uint64_t> stats_connections{0};
  std::jthread thread;
};

HttpTransport::HttpTransport(HttpTransportOptions options)
    : options_(std::move(options)), loop_(std::make_unique<Loop>(options_)) {}

HttpTransport::~HttpTransport() = default;

std::vector<HttpOutcome> HttpTransport::execute(std::vector<HttpRequest> requests) {
  Batch batch;
  batch.remaining = requests.size();
  batch.outcomes.resize(requests.size());
  if (requests.empty()) return {};
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(requests[i]);
    transfer->batch = &batch;
    transfer->index = i;
    transfers.push_back(std::move(transfer));
  }
  loop_->submit(std::move(transfers));
  std::unique_lock lock(batch.mutex);
  batch.done.wait(lock, [&] { return batch.remaining == 0; });
  return std::move(batch.outcomes);
}

HttpOutcome HttpTransport::execute_one(HttpRequest request) {
  std::vector<HttpRequest> one;
  one.push_back(std::move(request));
  return std::move(execute(std::move(one)).front());
}

HttpTransportStats HttpTransport::stats() const {
  return {loop_->stats_requests.load(), loop_->stats_bytes.load(), loop_->stats_connections.load()};
}

}  // namespace floe::io
