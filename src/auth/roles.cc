#include "auth/roles.h"

#include <array>

namespace roomcast::auth {
namespace {

constexpr std::array<std::string_view, kRoleCount> kNames = {"subscriber", "vip", "moderator",
                                                             "broadcaster", "admin"};

}  // namespace

std::optional<Role> ParseRole(std::string_view name) {
  for (int i = 0; i < kRoleCount; ++i) {
    if (kNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string_view RoleName(Role r) { return kNames[static_cast<int>(r)]; }

std::optional<Role> Highest(RoleSet set) {
  for (int i = kRoleCount - 1; i >= 0; --i) {
    if ((set & (1u << i)) != 0) return static_cast<Role>(i);
  }
  return std::nullopt;
}

RoleSet Identity::RolesIn(std::string_view room) const {
  RoleSet set = roles;
  for (const auto& [r, s] : room_roles) {
    if (r == room) set |= s;
  }
  return set;
}

}  // namespace roomcast::auth
