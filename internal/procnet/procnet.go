// Package procnet reads Linux's socket tables (/proc/net/tcp, tcp6) and a
// process's open files (/proc/<pid>/fd) to say which TCP ports a process
// itself listens on. The local servers the tests and tools start (DynamoDB
// Local, moto_server, aws-lambda-rie) are known to be ready, and on which
// port, by this fact rather than by a connection that might reach some
// other process holding the same port.
package procnet

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Listening reports whether pid itself holds a listening TCP socket on
// port, as opposed to any process on the machine.
func Listening(pid, port int) bool {
	return slices.Contains(ListeningPorts(pid), port)
}

// ListeningPorts are the TCP ports pid holds listening sockets on, in the
// order the kernel's tables list them (none once pid is gone).
func ListeningPorts(pid int) []int {
	inodes := socketInodes(pid)
	if len(inodes) == 0 {
		return nil
	}
	var ports []int
	for _, f := range []string{"tcp", "tcp6"} {
		ports = append(ports, listeners(fmt.Sprintf("%d/net/%s", pid, f), inodes)...)
	}
	return ports
}

// Listened reports whether any process listens on TCP port (in this
// process's network namespace).
func Listened(port int) bool {
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		if slices.Contains(listeners(f, nil), port) {
			return true
		}
	}
	return false
}

// socketInodes are the inodes of pid's open sockets ("socket:[123]" links
// in /proc/<pid>/fd).
func socketInodes(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			out[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return out
}

// proc is /proc, where the tables are.
var proc = os.DirFS("/proc")

// listeners reads a /proc/net/tcp table (path is under /proc): the ports
// of its rows in state 0A (LISTEN) whose inode is one of inodes (any, when
// inodes is nil).
func listeners(path string, inodes map[string]bool) []int {
	f, err := proc.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ports []int
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || (inodes != nil && !inodes[fields[9]]) {
			continue
		}
		_, hex, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if port, err := strconv.ParseUint(hex, 16, 16); err == nil {
			ports = append(ports, int(port))
		}
	}
	return ports
}
