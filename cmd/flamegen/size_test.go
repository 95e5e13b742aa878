package main

import "testing"

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true}, {"2GiB", 2 << 30, true}, {"100MB", 100e6, true}, {"4096", 4096, true},
		{"1 KiB", 1024, true}, {"0", 0, false}, {"-1MiB", 0, false}, {"MiB", 0, false}, {"9999999TiB", 0, false}, {"1.5GiB", 0, false},
	}
	for _, tt := range tests {
		var b byteSize
		err := b.Set(tt.in)
		if (err == nil) != tt.ok || (tt.ok && b.n != tt.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok %v", tt.in, b.n, err, tt.want, tt.ok)
		}
	}
	if b := (byteSize{512 << 20}); b.String() != "512MiB" {
		t.Errorf("String() = %q", b.String())
	}
}

// FuzzByteSize checks that what --max-size accepts is positive and that its
// printed form reads back to the same size.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"512MiB", "2GiB", "100MB", "4096", "1 KiB", "-1", "9223372036854775807B", "8TB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b byteSize
		if b.Set(s) != nil {
			return
		}
		if b.n <= 0 {
			t.Fatalf("%q accepted as %d", s, b.n)
		}
		var again byteSize
		if err := again.Set(b.String()); err != nil || again.n != b.n {
			t.Fatalf("%q: %d printed as %q, read back as %d, %v", s, b.n, b.String(), again.n, err)
		}
	})
}
