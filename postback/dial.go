package postback

import (
	"fmt"
	"net/netip"
	"syscall"
)

// RefusedError is the error of a dial to an address that postbacks may not reach: the
// operator's own network, through a tenant's template.
type RefusedError struct {
	Addr   netip.Addr
	Reason string // loopback, private, link-local, unspecified, multicast or reserved
}

// Error implements the error interface.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused to connect to %s, a %s address", e.Addr, e.Reason)
}

// nonPublic are the ranges that netip's predicates do not name but that no postback should
// reach either.
var nonPublic = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("100.64.0.0/10"), "private"}, // carrier-grade NAT
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"}, // benchmarking
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},   // and the broadcast address
	{netip.MustParsePrefix("fec0::/10"), "private"},      // deprecated site-local
}

// BlockedReason returns why postbacks may not reach the address (loopback, private,
// link-local, unspecified, multicast, reserved), and "" for a public one. An IPv6 address
// that embeds an IPv4 one (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by the
// address it embeds.
func BlockedReason(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, n := range nonPublic {
		if n.prefix.Contains(a) {
			return n.reason
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
			return BlockedReason(netip.AddrFrom4([4]byte(b[12:16])))
		case netip.MustParsePrefix("2002::/16").Contains(a):
			return BlockedReason(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return ""
}

// refuseNonPublic is a net.Dialer's Control: it runs for the address actually dialled,
// after name resolution, so a name that resolves to a public address when checked and to
// a private one when dialled (DNS rebinding) is still refused.
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if reason := BlockedReason(ap.Addr()); reason != "" {
		return &RefusedError{Addr: ap.Addr().Unmap(), Reason: reason}
	}
	return nil
}
