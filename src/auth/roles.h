// The roles a token may give a user, per room or in every room (PROTOCOL.md, "Identity"), as a
// small bit set, and the user a verified token names. Pure data, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roomcast::auth {

// In rising order of privilege: the highest a sender holds in a room goes into its messages.
enum class Role : uint8_t { kSubscriber = 0, kVip, kModerator, kBroadcaster, kAdmin };
inline constexpr int kRoleCount = 5;

using RoleSet = uint8_t;  // bit (1 << Role)

[[nodiscard]] constexpr RoleSet Bit(Role r) {
  return static_cast<RoleSet>(1u << static_cast<int>(r));
}
[[nodiscard]] std::optional<Role> ParseRole(std::string_view name);
[[nodiscard]] std::string_view RoleName(Role r);
// The highest role in the set; nullopt for the empty set.
[[nodiscard]] std::optional<Role> Highest(RoleSet set);
// May moderate a room: moderator, broadcaster or admin.
[[nodiscard]] constexpr bool CanModerate(RoleSet set) {
  return (set & (Bit(Role::kModerator) | Bit(Role::kBroadcaster) | Bit(Role::kAdmin))) != 0;
}

// A user as a verified token (or --dev-auth's ?user=) names it.
struct Identity {
  std::string sub;    // the user id (room-id characters, 1..64 bytes)
  std::string name;   // display name, may be empty
  int64_t exp = 0;    // Unix seconds; 0: never (only --dev-auth users)
  RoleSet roles = 0;  // roles in every room
  std::vector<std::pair<std::string, RoleSet>> room_roles;  // roles in one room each
  std::vector<std::string> badges;                          // copied into the user's messages

  // The roles in `room`: the token's global roles and that room's.
  [[nodiscard]] RoleSet RolesIn(std::string_view room) const;
};

}  // namespace roomcast::auth
