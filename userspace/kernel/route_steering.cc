#include "kernel/route_steering.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernel/rtnetlink_socket.h"

namespace tlsgate::kernel {

namespace {

const char* family_name(int family) {
  return family == AF_INET ? "IPv4" : "IPv6";
}

// Errors meaning "this host has no IPv6": skip that family.
bool family_unavailable(int err) {
  return err == EAFNOSUPPORT || err == EOPNOTSUPP;
}

NetlinkRequest rule_request(uint16_t type, uint16_t flags, int family,
                            const SteeringRouteSpec& spec) {
  NetlinkRequest request(type, flags);
  auto* rule = request.put_header<fib_rule_hdr>();
  rule->family = static_cast<uint8_t>(family);
  rule->action = FR_ACT_TO_TBL;
  rule->table = RT_TABLE_UNSPEC;  // the table is in FRA_TABLE: it may exceed 255
  request.put_u32(FRA_FWMARK, spec.mark);
  request.put_u32(FRA_FWMASK, 0xffffffff);
  request.put_u32(FRA_TABLE, spec.table);
  // An explicit priority makes NLM_F_EXCL detect our own rule on a restart.
  request.put_u32(FRA_PRIORITY, spec.rule_priority);
  return request;
}

NetlinkRequest route_request(uint16_t type, uint16_t flags, int family,
                             const SteeringRouteSpec& spec) {
  NetlinkRequest request(type, flags);
  auto* route = request.put_header<rtmsg>();
  route->rtm_family = static_cast<uint8_t>(family);
  route->rtm_dst_len = 0;  // default
  route->rtm_table = RT_TABLE_UNSPEC;
  route->rtm_protocol = RTPROT_BOOT;
  route->rtm_scope = RT_SCOPE_HOST;
  route->rtm_type = RTN_LOCAL;
  request.put_u32(RTA_TABLE, spec.table);
  request.put_u32(RTA_OIF, if_nametoindex("lo"));
  return request;
}

[[noreturn]] void fail(const std::string& step, int family, const SteeringRouteSpec& spec,
                       int err) {
  throw std::runtime_error(step + " (" + family_name(family) + ", fwmark " +
                           std::to_string(spec.mark) + ", table " + std::to_string(spec.table) +
                           "): " + std::strerror(err));
}

}  // namespace

SteeringRoutesAdded add_steering_routes(const SteeringRouteSpec& spec) {
  RtnetlinkSocket rtnl;
  SteeringRoutesAdded added;
  for (int family : {AF_INET, AF_INET6}) {
    bool& rule_added = family == AF_INET ? added.rule_v4 : added.rule_v6;
    bool& route_added = family == AF_INET ? added.route_v4 : added.route_v6;

    auto rule = rule_request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, family, spec);
    int err = rtnl.execute(rule);
    if (family == AF_INET6 && family_unavailable(err)) continue;
    if (err != 0 && err != EEXIST) {
      delete_steering_routes(spec, &added);
      fail("add policy routing rule", family, spec, err);
    }
    rule_added = err == 0;

    auto route = route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, family, spec);
    err = rtnl.execute(route);
    if (err != 0 && err != EEXIST) {
      delete_steering_routes(spec, &added);
      fail("add local route", family, spec, err);
    }
    route_added = err == 0;
  }
  return added;
}

void delete_steering_routes(const SteeringRouteSpec& spec, const SteeringRoutesAdded* only) {
  RtnetlinkSocket rtnl;
  for (int family : {AF_INET, AF_INET6}) {
    bool rule = only == nullptr || (family == AF_INET ? only->rule_v4 : only->rule_v6);
    bool route = only == nullptr || (family == AF_INET ? only->route_v4 : only->route_v6);
    if (rule) {
      auto request = rule_request(RTM_DELRULE, 0, family, spec);
      int err = rtnl.execute(request);
      if (err != 0 && err != ENOENT && !family_unavailable(err)) {
        fail("delete policy routing rule", family, spec, err);
      }
    }
    if (route) {
      auto request = route_request(RTM_DELROUTE, 0, family, spec);
      int err = rtnl.execute(request);
      if (err != 0 && err != ESRCH && err != ENOENT && !family_unavailable(err)) {
        fail("delete local route", family, spec, err);
      }
    }
  }
}

}  // namespace tlsgate::kernel
