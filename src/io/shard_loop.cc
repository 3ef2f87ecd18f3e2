// The shard loop: ring set-up, the one completion dispatcher, and the sleep/wake protocol.
// The send path lives in send_path.cc, connection life (accept, receive, close) in conn_life.cc.
#include "io/shard_loop.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "listener.h"
#include "loop_impl.h"

namespace roomcast::io {

namespace {

uint64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

Loop::Loop(const LoopOptions& opts, LoopHandler* handler)
    : impl_(std::make_unique<Impl>(this)), opts_(opts), handler_(handler) {}

Loop::~Loop() = default;

int Loop::Init(std::string* error) {
  if (opts_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(opts_.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort
  }
  now_ms_ = MonotonicMs();
  int rc = impl_->Setup(error);
  if (rc == 0) ring_fd_ = impl_->ring.ring_fd;
  return rc;
}

bool Loop::ClaimSleeper() {
  // Pairs with the fence in Run(): either the sleeper sees the producer's item, or the producer
  // sees sleeping_ == true and wakes it.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return sleeping_.exchange(false, std::memory_order_seq_cst);
}

void Loop::RequestStop() {
  stop_requested_.store(true, std::memory_order_seq_cst);
  uint64_t one = 1;
  ssize_t n = write(impl_->event_fd, &one, sizeof(one));
  (void)n;  // the loop also polls stop_requested_ every turn
}

void Loop::WakePeer(int peer_ring_fd) {
  io_uring_sqe* sqe = GetSqe(&impl_->ring);
  io_uring_prep_msg_ring(sqe, peer_ring_fd, 0, PackUserData(kOpWake, 0, 0), 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpMsgSent, 0, 0));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  ++stats_.wakeups_sent;
}

void Loop::SubmitFileWrite(int fd, const void* data, uint32_t len, uint64_t offset,
                           uint32_t token) {
  io_uring_sqe* sqe = GetSqe(&impl_->ring);
  io_uring_prep_write(sqe, fd, data, len, offset);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpFile, 0, token));
}

void Loop::SubmitFileSync(int fd, uint32_t token) {
  io_uring_sqe* sqe = GetSqe(&impl_->ring);
  io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpFile, 0, token));
}

void Loop::Finish(uint64_t deadline_ms) {
  impl_->finishing = true;
  impl_->finish_deadline = deadline_ms;
}

void Loop::Run() {
  impl_->ArmAccept();
  impl_->ArmEventFd();
  while (true) {
    now_ms_ = MonotonicMs();
    ++stats_.loop_turns;
    impl_->ReapCompletions();
    if (stop_requested_.load(std::memory_order_relaxed) && !impl_->stop_seen) {
      impl_->stop_seen = true;
      StopAccepting();
      handler_->OnStopRequested();
    }
    handler_->OnTurn(now_ms_);
    impl_->ExpireLingers();
    impl_->RearmPausedRecvs();
    if (!impl_->accept_armed) impl_->ArmAccept();  // no-op unless a retry is due
    if (impl_->finishing && (live_ == 0 || now_ms_ >= impl_->finish_deadline)) break;
    uint32_t wait_ms = handler_->BeforeSleep(now_ms_);
    impl_->FlushSends();
    if (impl_->finishing && wait_ms > 50) wait_ms = 50;
    if (!impl_->lingering.empty() && wait_ms > 100) wait_ms = 100;
    if (!impl_->accept_armed && !impl_->accept_stopped && wait_ms > 100) wait_ms = 100;

    // Sleep protocol: publish "sleeping", then look once more for inbound work.
    sleeping_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (handler_->HasInbound() ||
        stop_requested_.load(std::memory_order_relaxed) != impl_->stop_seen) {
      sleeping_.store(false, std::memory_order_relaxed);
      io_uring_submit_and_get_events(&impl_->ring);
      continue;
    }
    __kernel_timespec ts{};
    ts.tv_sec = wait_ms / 1000;
    ts.tv_nsec = static_cast<long>(wait_ms % 1000) * 1000000L;
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&impl_->ring, &cqe, 1, &ts, nullptr);
    (void)rc;  // -ETIME and -EINTR just mean "look again"
    sleeping_.store(false, std::memory_order_relaxed);
  }
  impl_->Teardown();
}

// ---- Impl: set-up and the completion dispatcher ----

int Loop::Impl::Setup(std::string* error) {
  const LoopOptions& o = loop->opts_;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
            IORING_SETUP_COOP_TASKRUN;
  p.cq_entries = o.ring_entries * 8;
  int rc = io_uring_queue_init_params(o.ring_entries, &ring, &p);
  if (rc < 0) {
    *error = std::string("io_uring_queue_init: ") + strerror(-rc);
    return rc;
  }
  ring_ready = true;
  table_size = o.max_conns + kTableSlack + static_cast<uint32_t>(o.listen_backlog);
  rc = io_uring_register_files_sparse(&ring, table_size);
  if (rc < 0) {
    *error = "register " + std::to_string(table_size) + " fixed files: " + strerror(-rc) +
             " (a table cannot exceed the descriptor limit, RLIMIT_NOFILE)";
    return rc;
  }
  rc = buffers.Setup(&ring, o.recv_buf_count, o.recv_buf_size, error);
  if (rc < 0) return rc;
  rc = OpenListener(o.listen_host, o.listen_port, o.listen_backlog, error);
  if (rc < 0) return rc;
  listen_fd = rc;
  peer_accepts.Setup(o.peer_counts, o.shard_id, table_size);
  event_fd = eventfd(0, EFD_CLOEXEC);  // blocking: io_uring waits on it
  if (event_fd < 0) {
    *error = std::string("eventfd: ") + strerror(errno);
    return -errno;
  }
  return 0;
}

void Loop::Impl::ArmEventFd() {
  io_uring_sqe* sqe = GetSqe(&ring);
  io_uring_prep_read(sqe, event_fd, &event_value, sizeof(event_value), 0);
  io_uring_sqe_set_data64(sqe, PackUserData(kOpEvent, 0, 0));
}

void Loop::Impl::ReapCompletions() {
  // Completions were posted by the last io_uring_enter (a wait or submit_and_get_events).
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring, head, cqe) {
    ++seen;
    Dispatch(cqe);
    if (seen >= kMaxCqesPerTurn) break;  // keep one turn bounded; the rest is taken next turn
  }
  io_uring_cq_advance(&ring, seen);
  buffers.Publish();
}

void Loop::Impl::Dispatch(const io_uring_cqe* cqe) {
  const uint64_t ud = cqe->user_data;
  const Op op = UserDataOp(ud);
  const uint32_t slot = UserDataSlot(ud);
  const uint32_t gen = UserDataGen(ud);
  switch (op) {
    case kOpAccept:
      OnAcceptDone(cqe);
      break;
    case kOpRecv:
      OnRecvDone(slot, gen, cqe);
      break;
    case kOpSend:
      OnSendDone(slot, gen, cqe->res);
      break;
    case kOpShutdownWr:  // the receive's end (res 0) drives the close, once these are done
      OnShutdownDone(slot, gen, kShutWrInFlight);
      break;
    case kOpShutdownRdWr:
      OnShutdownDone(slot, gen, kShutRdWrInFlight);
      break;
    case kOpClose:
      OnCloseDone(slot, gen, cqe->res);
      break;
    case kOpWake:
      break;  // a peer woke us: its items are drained in OnTurn
    case kOpMsgSent:
      if (cqe->res < 0) ++wake_errors;  // success CQEs are skipped
      break;
    case kOpEvent:
      if (!stop_seen) ArmEventFd();
      break;
    case kOpCancel:
      break;
    case kOpFile:
      loop->handler_->OnFileDone(slot, cqe->res);
      break;
    case kOpAcceptAddr:
      OnAddrAcceptDone(slot, cqe);
      break;
    case kOpSocket:
      if (auto failed = connects.OnSocketDone(&ring, slot, cqe->res)) Connected(*failed);
      break;
    case kOpConnect:
      if (auto outcome = connects.OnConnectDone(&ring, gen, slot, cqe->res)) Connected(*outcome);
      break;
    case kOpConnectClose:
      Connected(connects.OnCloseDone(slot));
      break;
  }
}

void Loop::Impl::Teardown() {
  if (listen_fd >= 0) close(listen_fd);
  listen_fd = -1;
  if (event_fd >= 0) close(event_fd);
  event_fd = -1;
}

// The members' destructors run after this body: the buffer ring is unmapped after the ring is
// gone, and the free send records are deleted after every queue was dropped here.
Loop::Impl::~Impl() {
  conns.ForEachAllocated([this](Conn* c) { queues.Drop(c, nullptr, nullptr); });
  if (ring_ready) io_uring_queue_exit(&ring);
  if (listen_fd >= 0) close(listen_fd);
  if (event_fd >= 0) close(event_fd);
}

}  // namespace roomcast::io
