package jaeger

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// processSockets finds the sockets of pid by matching the inodes of its
// "socket:[inode]" file descriptors against the socket tables in
// /proc/<pid>/net, which describe the process's own network namespace.
func processSockets(pid int) ([]Socket, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	var out []Socket
	for _, network := range []string{"tcp", "tcp6", "udp", "udp6"} {
		path := fmt.Sprintf("/proc/%d/net/%s", pid, network)
		socks, err := readSocketTable(path, network, inodes)
		if errors.Is(err, fs.ErrNotExist) {
			continue // e.g. tcp6 on a kernel without IPv6
		}
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	return out, nil
}

func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list sockets of pid %d: %w", pid, err)
	}
	inodes := make(map[string]bool)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since ReadDir
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return inodes, nil
}

const (
	tcpListen = "0A" // TCP_LISTEN in include/net/tcp_states.h
	udpClose  = "07" // TCP_CLOSE, the state of an unconnected UDP socket
)

// readSocketTable parses a /proc/net/{tcp,tcp6,udp,udp6} table:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 ...
func readSocketTable(path, network string, inodes map[string]bool) ([]Socket, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Socket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || !inodes[fields[9]] {
			continue
		}
		local, remote, state := fields[1], fields[2], fields[3]
		listening := state == tcpListen
		if strings.HasPrefix(network, "udp") {
			listening = state == udpClose && strings.Trim(remote, "0:") == ""
		}
		if !listening {
			continue
		}
		addr, err := parseProcAddr(local)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		out = append(out, Socket{Network: network, Addr: addr})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// parseProcAddr parses "0100007F:1F90". The kernel prints the address as
// 32-bit words in the machine's byte order and the port in host order.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad socket port %q", s)
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
