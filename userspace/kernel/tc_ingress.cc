#include "kernel/tc_ingress.h"

#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernel/rtnetlink_socket.h"

namespace tlsgate::kernel {

namespace {

[[noreturn]] void fail(const std::string& step, const std::string& ifname, int err) {
  throw std::runtime_error(step + " on " + ifname + ": " + std::strerror(err));
}

bpf_tc_hook ingress_hook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts filter_opts() {
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kTcFilterHandle;
  opts.priority = kTcFilterPriority;
  return opts;
}

int kind_attribute(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == TCA_KIND && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

// The state is read before changing it, rather than inferred from errors,
// so that expected cases do not surface as kernel error messages.
bool clsact_present(RtnetlinkSocket& rtnl, int ifindex, const std::string& ifname) {
  NetlinkRequest request(RTM_GETQDISC, 0);
  auto* tc = request.put_header<tcmsg>();
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = ifindex;
  bool present = false;
  int err = rtnl.dump(request, [&present, ifindex](const nlmsghdr* nlh) {
    const auto* msg = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
    std::string kind;
    mnl_attr_parse(nlh, sizeof(tcmsg), kind_attribute, &kind);
    if (msg->tcm_ifindex == ifindex && msg->tcm_parent == TC_H_CLSACT && kind == "clsact") {
      present = true;
    }
  });
  if (err != 0) fail("list qdiscs", ifname, err);
  return present;
}

struct TcFilter {
  uint32_t parent;
  uint32_t handle;
  uint32_t priority;
};

// Every filter entry under the clsact qdisc, ingress and egress.
std::vector<TcFilter> clsact_filters(RtnetlinkSocket& rtnl, int ifindex,
                                     const std::string& ifname) {
  std::vector<TcFilter> filters;
  for (uint32_t minor : {TC_H_MIN_INGRESS, TC_H_MIN_EGRESS}) {
    NetlinkRequest request(RTM_GETTFILTER, 0);
    auto* tc = request.put_header<tcmsg>();
    tc->tcm_family = AF_UNSPEC;
    tc->tcm_ifindex = ifindex;
    tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT, minor);
    uint32_t parent = tc->tcm_parent;
    int err = rtnl.dump(request, [&filters, parent](const nlmsghdr* nlh) {
      if (nlh->nlmsg_type != RTM_NEWTFILTER) return;
      const auto* msg = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
      filters.push_back({parent, msg->tcm_handle, TC_H_MAJ(msg->tcm_info) >> 16});
    });
    if (err != 0) fail("list tc filters", ifname, err);
  }
  return filters;
}

bool is_ours(const TcFilter& f) {
  return f.parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS) && f.handle == kTcFilterHandle &&
         f.priority == kTcFilterPriority;
}

int ifindex_of(const std::string& ifname) {
  return static_cast<int>(if_nametoindex(ifname.c_str()));
}

}  // namespace

void attach_tc_ingress(const std::string& ifname, int prog_fd) {
  int ifindex = ifindex_of(ifname);
  if (ifindex == 0) fail("attach tc ingress", ifname, ENODEV);
  RtnetlinkSocket rtnl;
  bpf_tc_hook hook = ingress_hook(ifindex);
  if (!clsact_present(rtnl, ifindex, ifname)) {
    if (int err = bpf_tc_hook_create(&hook); err != 0) fail("create clsact qdisc", ifname, -err);
  }
  bpf_tc_opts opts = filter_opts();
  opts.prog_fd = prog_fd;
  opts.flags = BPF_TC_F_REPLACE;
  if (int err = bpf_tc_attach(&hook, &opts); err != 0) fail("attach tc ingress", ifname, -err);
}

bool detach_tc_ingress(const std::string& ifname) {
  int ifindex = ifindex_of(ifname);
  if (ifindex == 0) return false;
  RtnetlinkSocket rtnl;
  if (!clsact_present(rtnl, ifindex, ifname)) return false;

  bpf_tc_hook hook = ingress_hook(ifindex);
  bool detached = false;
  for (const auto& f : clsact_filters(rtnl, ifindex, ifname)) {
    if (!is_ours(f)) continue;
    bpf_tc_opts opts = filter_opts();
    if (int err = bpf_tc_detach(&hook, &opts); err != 0) fail("detach tc ingress", ifname, -err);
    detached = true;
    break;
  }
  if (clsact_filters(rtnl, ifindex, ifname).empty()) {
    // Destroying both attach points deletes the clsact qdisc itself.
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    if (int err = bpf_tc_hook_destroy(&hook); err != 0) fail("delete clsact qdisc", ifname, -err);
  }
  return detached;
}

bool tc_ingress_attached(const std::string& ifname) {
  int ifindex = ifindex_of(ifname);
  if (ifindex == 0) return false;
  RtnetlinkSocket rtnl;
  if (!clsact_present(rtnl, ifindex, ifname)) return false;
  for (const auto& f : clsact_filters(rtnl, ifindex, ifname)) {
    if (is_ours(f)) return true;
  }
  return false;
}

}  // namespace tlsgate::kernel
