#include "fanout_plan.h"

namespace roomcast::load {

uint32_t StormRooms(const Options& opt) { return opt.storm_fraction > 0 ? 0 : opt.rooms / 2; }

bool InStormGroup(const Options& opt, uint64_t viewer) {
  const uint32_t room = static_cast<uint32_t>(viewer % opt.rooms);
  if (opt.storm_fraction <= 0) return room < opt.rooms / 2;
  const uint64_t in_room = (opt.viewers - room + opt.rooms - 1) / opt.rooms;
  const uint64_t stormed = static_cast<uint64_t>(opt.storm_fraction * static_cast<double>(in_room));
  return viewer / opt.rooms < stormed;
}

uint32_t PublishersInRoom(const Options& o, uint32_t room) {
  return room < o.publishers ? (o.publishers - room + o.rooms - 1) / o.rooms : 0;
}

bool CalmApart(const Options& opt, bool storm, uint32_t workers) {
  return storm && opt.storm_calm_apart && workers >= 2;
}

uint32_t ViewerWorker(const Options& opt, bool storm, uint32_t workers, uint64_t v) {
  if (!CalmApart(opt, storm, workers)) return static_cast<uint32_t>(v % workers);
  if (!InStormGroup(opt, v)) return 0;
  return 1 + static_cast<uint32_t>(v % (workers - 1));
}

uint32_t PublisherWorker(const Options& opt, bool storm, uint32_t workers, uint64_t j) {
  return CalmApart(opt, storm, workers) ? 0 : static_cast<uint32_t>(j % workers);
}

uint32_t PublisherSlot(const Options& opt, bool storm, uint32_t workers, uint64_t j) {
  return static_cast<uint32_t>(CalmApart(opt, storm, workers) ? j : j / workers);
}

}  // namespace roomcast::load
