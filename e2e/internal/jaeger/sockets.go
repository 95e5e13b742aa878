package jaeger

import (
	"fmt"
	"net/netip"
)

// Socket is a listening socket of the Jaeger process.
type Socket struct {
	// Network is "tcp", "tcp6", "udp" or "udp6", after the /proc/net file the
	// socket was found in.
	Network string
	Addr    netip.AddrPort
}

func (s Socket) String() string { return fmt.Sprintf("%s %s", s.Network, s.Addr) }

// Sockets returns the listening sockets the Jaeger process owns: TCP sockets
// in the LISTEN state and bound, unconnected UDP sockets. Tests use it to
// check that nothing listens beyond 127.0.0.1. It reads /proc and returns an
// error wrapping errors.ErrUnsupported on systems other than Linux.
func (s *Server) Sockets() ([]Socket, error) {
	return processSockets(s.PID())
}
