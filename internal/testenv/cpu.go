package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PIDTicks returns the user and the system CPU time process pid has used, in clock ticks
// (1/100 s on Linux), from /proc/pid/stat; zeros where there is no such file. Benchmarks
// use it to charge a server's CPU to the work they drive.
func PIDTicks(pid int) (user, sys int64) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return 0, 0
	}
	user, _ = strconv.ParseInt(fields[11], 10, 64)
	sys, _ = strconv.ParseInt(fields[12], 10, 64)
	return user, sys
}

// PIDsNamed returns the processes whose command name (/proc/pid/comm, at most 15 bytes)
// starts with prefix.
func PIDsNamed(prefix string) []int {
	var out []int
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, c := range comms {
		if comm, err := os.ReadFile(c); err == nil && strings.HasPrefix(string(comm), prefix) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(c)))
			out = append(out, pid)
		}
	}
	return out
}
