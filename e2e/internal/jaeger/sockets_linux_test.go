package jaeger

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	// The hex strings are what a little-endian kernel prints; on a
	// big-endian machine the words come out the other way round.
	tests := []struct {
		in, want string
	}{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0016", "0.0.0.0:22"},
		{"00000000000000000000000001000000:3039", "[::1]:12345"},
		{"0000000000000000FFFF00000100007F:0050", "[::ffff:127.0.0.1]:80"},
	}
	if !littleEndian() {
		t.Skip("the table holds little-endian /proc output")
	}
	for _, tt := range tests {
		got, err := parseProcAddr(tt.in)
		if err != nil {
			t.Errorf("parseProcAddr(%q): %v", tt.in, err)
			continue
		}
		if got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("parseProcAddr(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "01007F:0050", "zz00007F:0050", "0100007F:zz"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) succeeded", bad)
		}
	}
}

func littleEndian() bool {
	return binary.NativeEndian.Uint16([]byte{1, 0}) == 1
}
