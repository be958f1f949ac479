package unmogrowp

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// IPSet is a set of IP addresses: the cloud providers' ranges the datacenter_ip rule
// rejects (ATTRIBUTION.md).
type IPSet interface {
	// Contains reports whether a is in the set. An IPv4-mapped IPv6 address is its IPv4
	// address; an invalid address is in no set.
	Contains(a netip.Addr) bool
}

// IPList is one imported list of address ranges, named after its source.
type IPList struct {
	Name       string // "aws", "gcp", "azure", or the file's name for a plain list
	Prefixes   []netip.Prefix
	ImportedAt time.Time
}

// IPListStore keeps the imported IP lists: part of the metadata store.
type IPListStore interface {
	// PutIPList replaces the list of that name (creating it), stamping ImportedAt.
	// Returns EINVALID for an empty name.
	PutIPList(ctx context.Context, list IPList) error

	// IPLists returns every list, by name.
	IPLists(ctx context.Context) ([]IPList, error)

	// IPListsVersion returns a value that changes whenever a list is put: a cheap check
	// before reading them again.
	IPListsVersion(ctx context.Context) (string, error)
}

// IPRanges is an IPSet of prefixes held as sorted, merged address ranges: a lookup is a
// binary search, tens of nanoseconds for a hundred thousand prefixes. No maintained
// prefix-trie library is available to this module; the sorted ranges need no more. The
// zero value is empty; it is read-only once built.
type IPRanges struct {
	v4 []uint32    // start, end (inclusive), start, end... sorted, disjoint
	v6 [][2]uint64 // the same, as (high, low) halves
	n  int         // prefixes it was built from
	// by12[b] is the index in v4 of the first range end at or above b<<20: the range that
	// holds an address of the /12 b, if any, is between by12[b] and by12[b+1] (a small
	// table that stays in cache, where a search of all of v4 would miss it at each step).
	by12 []uint32
}

// NewIPRanges builds the set of the prefixes; invalid ones are skipped.
func NewIPRanges(prefixes []netip.Prefix) *IPRanges {
	type r4 struct{ lo, hi uint32 }
	type r6 struct{ lo, hi [2]uint64 }
	var v4 []r4
	var v6 []r6
	n := 0
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		n++
		p = normalizePrefix(p)
		a := p.Addr()
		if a.Is4() {
			b := a.As4()
			lo := binary.BigEndian.Uint32(b[:])
			hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
			v4 = append(v4, r4{lo, hi})
			continue
		}
		b := a.As16()
		lo := [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
		hi := lo
		if bits := p.Bits(); bits < 64 {
			hi[0] |= uint64(1)<<(64-bits) - 1
			hi[1] = ^uint64(0)
		} else if bits < 128 {
			hi[1] |= uint64(1)<<(128-bits) - 1
		}
		v6 = append(v6, r6{lo, hi})
	}
	slices.SortFunc(v4, func(a, b r4) int { return cmp.Compare(a.lo, b.lo) })
	slices.SortFunc(v6, func(a, b r6) int { return cmp6(a.lo, b.lo) })
	s := &IPRanges{n: n}
	for _, r := range v4 {
		if k := len(s.v4); k > 0 && (r.lo <= s.v4[k-1] || s.v4[k-1] != ^uint32(0) && r.lo == s.v4[k-1]+1) {
			s.v4[k-1] = max(s.v4[k-1], r.hi)
			continue
		}
		s.v4 = append(s.v4, r.lo, r.hi)
	}
	s.by12 = make([]uint32, 1<<12+1)
	for b := range 1 << 12 {
		i, _ := slices.BinarySearch(s.v4, uint32(b)<<20)
		s.by12[b] = uint32(i &^ 1) // the start of the range whose end it found
	}
	s.by12[1<<12] = uint32(len(s.v4))
	for _, r := range v6 {
		if k := len(s.v6); k > 0 && cmp6(r.lo, s.v6[k-1]) <= 0 {
			if cmp6(r.hi, s.v6[k-1]) > 0 {
				s.v6[k-1] = r.hi
			}
			continue
		}
		s.v6 = append(s.v6, r.lo, r.hi)
	}
	return s
}

func cmp6(a, b [2]uint64) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

// normalizePrefix makes an IPv4-mapped IPv6 prefix an IPv4 one, masked.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Len is how many prefixes the set was built from.
func (s *IPRanges) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Contains implements IPSet.
func (s *IPRanges) Contains(a netip.Addr) bool {
	if s == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		x := binary.BigEndian.Uint32(b[:])
		// The first range end >= x; x is inside when that range starts at or before it.
		lo, hi := int(s.by12[x>>20]), min(int(s.by12[x>>20+1])+2, len(s.v4))
		i, _ := slices.BinarySearch(s.v4[lo:hi], x)
		if i += lo; i == len(s.v4) {
			return false
		}
		return i%2 == 1 || s.v4[i] == x
	}
	b := a.As16()
	x := [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
	i, found := slices.BinarySearchFunc(s.v6, x, cmp6)
	if i == len(s.v6) {
		return false
	}
	return i%2 == 1 || found
}

var _ IPSet = (*IPRanges)(nil)

// ParseIPList reads a cloud provider's published ranges, recognised by their shape: AWS's
// ip-ranges.json (prefixes[].ip_prefix, ipv6_prefixes[].ipv6_prefix), Google Cloud's
// cloud.json (prefixes[].ipv4Prefix, ipv6Prefix), Azure's ServiceTags_Public*.json
// (values[].properties.addressPrefixes), or a plain list with a CIDR or an address a line
// ('#' starts a comment). It returns the kind ("aws", "gcp", "azure" or "plain") and the
// prefixes, deduplicated and sorted; EINVALID naming the line or the field for anything
// else.
func ParseIPList(data []byte) (kind string, prefixes []netip.Prefix, err error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		kind, prefixes, err = parseIPListJSON(trimmed)
	} else {
		kind = "plain"
		prefixes, err = parsePlainIPList(data)
	}
	if err != nil {
		return "", nil, err
	}
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	return kind, slices.Compact(prefixes), nil
}

// ipListJSON is the union of the providers' JSON shapes.
type ipListJSON struct {
	Prefixes []struct {
		IPPrefix   string `json:"ip_prefix"`  // AWS
		IPv4Prefix string `json:"ipv4Prefix"` // Google
		IPv6Prefix string `json:"ipv6Prefix"` // Google
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix string `json:"ipv6_prefix"` // AWS
	} `json:"ipv6_prefixes"`
	Values []struct {
		Properties struct {
			AddressPrefixes []string `json:"addressPrefixes"`
		} `json:"properties"`
	} `json:"values"` // Azure
	SyncToken    string `json:"syncToken"`    // AWS
	CreationTime string `json:"creationTime"` // Google
	ChangeNumber *int   `json:"changeNumber"` // Azure
}

func parseIPListJSON(data []byte) (string, []netip.Prefix, error) {
	var j ipListJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return "", nil, Errorf(EINVALID, "The IP list is not valid JSON: %v.", err)
	}
	var out []netip.Prefix
	add := func(field, s string) error {
		if s == "" {
			return nil
		}
		p, err := parseCIDR(s)
		if err != nil {
			return Errorf(EINVALID, "%s: %q is not a CIDR.", field, s)
		}
		out = append(out, p)
		return nil
	}
	switch {
	case j.Values != nil:
		for i, v := range j.Values {
			for _, s := range v.Properties.AddressPrefixes {
				if err := add(fmt.Sprintf("values[%d].properties.addressPrefixes", i), s); err != nil {
					return "", nil, err
				}
			}
		}
		return "azure", out, nil
	case j.Prefixes != nil || j.IPv6Prefixes != nil:
		kind := "gcp"
		if j.SyncToken != "" || j.IPv6Prefixes != nil {
			kind = "aws"
		}
		for i, p := range j.Prefixes {
			for _, s := range []string{p.IPPrefix, p.IPv4Prefix, p.IPv6Prefix} {
				if err := add(fmt.Sprintf("prefixes[%d]", i), s); err != nil {
					return "", nil, err
				}
			}
		}
		for i, p := range j.IPv6Prefixes {
			if err := add(fmt.Sprintf("ipv6_prefixes[%d].ipv6_prefix", i), p.IPv6Prefix); err != nil {
				return "", nil, err
			}
		}
		return kind, out, nil
	}
	return "", nil, Errorf(EINVALID, "The IP list is JSON of no known provider: expected AWS's prefixes, Google Cloud's prefixes or Azure's values.")
}

func parsePlainIPList(data []byte) ([]netip.Prefix, error) {
	var out []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := parseCIDR(line)
		if err != nil {
			return nil, Errorf(EINVALID, "Line %d: %q is not a CIDR or an IP address.", n, truncate(line, 60))
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, Errorf(EINVALID, "The IP list has a line too long to be a CIDR.")
	}
	return out, nil
}

// parseCIDR parses a CIDR or a single address, normalised (IPv4-mapped as IPv4, masked).
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return normalizePrefix(p), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// IPListWatcher is the IPSet of every imported list, kept current: Run reads the lists
// again whenever their version changes. Until the first load it is empty (matches
// nothing). Safe for concurrent use.
type IPListWatcher struct {
	set     atomic.Pointer[IPRanges]
	version string
}

var _ IPSet = (*IPListWatcher)(nil)

// Contains implements IPSet with the lists as last loaded.
func (w *IPListWatcher) Contains(a netip.Addr) bool {
	return w.set.Load().Contains(a)
}

// Len is how many prefixes the lists as last loaded hold.
func (w *IPListWatcher) Len() int { return w.set.Load().Len() }

// Load reads the lists from store when their version changed since the last Load.
// Not safe for concurrent calls (Run makes them from one goroutine).
func (w *IPListWatcher) Load(ctx context.Context, store IPListStore) error {
	v, err := store.IPListsVersion(ctx)
	if err != nil {
		return fmt.Errorf("ip lists version: %w", err)
	}
	if v == w.version && w.set.Load() != nil {
		return nil
	}
	lists, err := store.IPLists(ctx)
	if err != nil {
		return fmt.Errorf("read ip lists: %w", err)
	}
	var all []netip.Prefix
	for _, l := range lists {
		all = append(all, l.Prefixes...)
	}
	w.set.Store(NewIPRanges(all))
	w.version = v
	return nil
}

// IPListRefresh is how often Run checks the lists' version: a change takes effect within it.
const IPListRefresh = 30 * time.Second

// Run loads the lists now and then every interval (IPListRefresh when 0) until ctx is
// done; a failed load is logged and the set loaded last is kept.
func (w *IPListWatcher) Run(ctx context.Context, store IPListStore, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = IPListRefresh
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Load(ctx, store); err != nil && ctx.Err() == nil {
			log.Warn("ip lists not loaded", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
