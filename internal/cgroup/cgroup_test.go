package cgroup

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCgroupMemoryFiles(t *testing.T) {
	tests := []struct {
		name      string
		cgroup    string
		mountinfo string
		want      []string
		errLine   int // >0: a *Error on this line of errFile
		errFile   string
	}{
		{
			name:      "unified",
			cgroup:    "0::/system.slice/app.service\n",
			mountinfo: "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			want:      []string{"sys/fs/cgroup/system.slice/app.service/memory.max", "sys/fs/cgroup/system.slice/memory.max", "sys/fs/cgroup/memory.max"},
		},
		{
			name: "hybrid",
			cgroup: "4:memory:/process_api/73da\n" +
				"1:cpu:/\n0::/\n",
			mountinfo: "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
				"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
			want: []string{"sys/fs/cgroup/unified/memory.max",
				"sys/fs/cgroup/memory/process_api/73da/memory.limit_in_bytes", "sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.limit_in_bytes"},
		},
		{
			name:      "mount shows a subtree",
			cgroup:    "0::/kubepods/pod1/c1\n",
			mountinfo: "31 23 0:28 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			want:      []string{"sys/fs/cgroup/c1/memory.max", "sys/fs/cgroup/memory.max"},
		},
		{
			name:      "escaped mount point",
			cgroup:    "0::/a\n",
			mountinfo: `31 23 0:28 / /mnt/my\040cgroup rw shared:9 - cgroup2 none rw` + "\n",
			want:      []string{"mnt/my cgroup/a/memory.max", "mnt/my cgroup/memory.max"},
		},
		{
			name:      "cgroup v1 only",
			cgroup:    "4:memory:/x\n1:cpu:/x\n",
			mountinfo: "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
			want:      []string{"sys/fs/cgroup/memory/x/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.limit_in_bytes"},
		},
		{
			name:      "cgroup v1, memory beside another controller, a subtree mounted",
			cgroup:    "3:cpu,memory:/pod/c\n",
			mountinfo: "35 31 0:32 /pod /sys/fs/cgroup/memory rw - cgroup cgroup rw,cpu,memory\n",
			want:      []string{"sys/fs/cgroup/memory/c/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.limit_in_bytes"},
		},
		{
			name:      "cgroup v1 without its memory mount",
			cgroup:    "4:memory:/x\n",
			mountinfo: "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
		},
		{
			name:    "relative cgroup v1 path",
			cgroup:  "4:memory:x\n",
			errFile: "/proc/self/cgroup", errLine: 1,
		},
		{
			name:      "no cgroup2 mount",
			cgroup:    "0::/x\n",
			mountinfo: "24 1 0:22 / /proc rw - proc proc rw\n",
		},
		{
			name:      "cgroup outside the mount",
			cgroup:    "0::/other\n",
			mountinfo: "31 23 0:28 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		},
		{
			name:    "bad cgroup line",
			cgroup:  "4:memory:/x\nnonsense\n0::/\n",
			errFile: "/proc/self/cgroup", errLine: 2,
		},
		{
			name:    "relative cgroup path",
			cgroup:  "0::x\n",
			errFile: "/proc/self/cgroup", errLine: 1,
		},
		{
			name:      "bad mountinfo line",
			cgroup:    "0::/\n",
			mountinfo: "24 1 0:22 / /proc rw - proc proc rw\n31 23 cgroup2\n",
			errFile:   "/proc/self/mountinfo", errLine: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"proc/self/cgroup": {Data: []byte(tt.cgroup)}}
			if tt.mountinfo != "" {
				fsys["proc/self/mountinfo"] = &fstest.MapFile{Data: []byte(tt.mountinfo)}
			}
			got, err := MemoryFiles(fsys)
			if tt.errLine > 0 {
				var ce *Error
				if !errors.As(err, &ce) || ce.Path != tt.errFile || ce.Line != tt.errLine {
					t.Fatalf("error %v, want a *Error for %s line %d", err, tt.errFile, tt.errLine)
				}
				if !strings.Contains(err.Error(), "want ") {
					t.Errorf("error %q does not say what was expected", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("files %q, want %q", got, tt.want)
			}
		})
	}
	if got, err := MemoryFiles(fstest.MapFS{}); got != nil || err != nil {
		t.Errorf("no /proc: %v %v", got, err)
	}
}

func TestParseMemoryMax(t *testing.T) {
	tests := []struct {
		in    string
		want  uint64
		ok    bool
		isErr bool
	}{
		{"max\n", 0, false, false},
		{"1073741824\n", 1 << 30, true, false},
		{"0\n", 0, false, false},
		{"", 0, false, true},
		{"1G", 0, false, true},
		{"-1", 0, false, true},
		{"99999999999999999999999", 0, false, true},
	}
	for _, tt := range tests {
		n, ok, err := ParseMemoryMax("/m", []byte(tt.in))
		if n != tt.want || ok != tt.ok || (err != nil) != tt.isErr {
			t.Errorf("ParseMemoryMax(%q) = %d %v %v", tt.in, n, ok, err)
		}
	}
}

func TestParseLimitInBytes(t *testing.T) {
	tests := []struct {
		in    string
		want  uint64
		ok    bool
		isErr bool
	}{
		{"9223372036854771712\n", 0, false, false}, // no limit
		{"536870912\n", 512 << 20, true, false},
		{"0", 0, false, false},
		{"max", 0, false, true},
		{"-1", 0, false, true},
		{"", 0, false, true},
	}
	for _, tt := range tests {
		n, ok, err := ParseLimitInBytes("/m", []byte(tt.in))
		if n != tt.want || ok != tt.ok || (err != nil) != tt.isErr {
			t.Errorf("ParseLimitInBytes(%q) = %d %v %v", tt.in, n, ok, err)
		}
	}
}

func FuzzCgroupFiles(f *testing.F) {
	f.Add("0::/a/b\n", "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "max\n")
	f.Add("4:memory:/x\n0::/\n", "41 31 0:38 /k /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n", "1073741824")
	f.Add("0::/k/p\n", `31 23 0:28 /k /mnt/a\040b rw shared:1 - cgroup2 none rw`, "1G")
	f.Add("nonsense", "- - -", "")
	f.Add("4:memory:/x\n", "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "9223372036854771712")
	f.Fuzz(func(t *testing.T, cgroup, mountinfo, memMax string) {
		fsys := fstest.MapFS{
			"proc/self/cgroup":    {Data: []byte(cgroup)},
			"proc/self/mountinfo": {Data: []byte(mountinfo)},
		}
		files, err := MemoryFiles(fsys)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Reason == "" {
				t.Fatalf("error %v is not a *Error naming a line", err)
			}
			if files != nil {
				t.Errorf("files %q with an error", files)
			}
		}
		for _, p := range files {
			if base := path.Base(p); !fs.ValidPath(p) || base != "memory.max" && base != "memory.limit_in_bytes" {
				t.Errorf("file %q", p)
			}
		}
		if n, ok, err := ParseLimitInBytes("/m", []byte(memMax)); (err != nil && ok) || (ok && n == 0) {
			t.Errorf("ParseLimitInBytes(%q) = %d %v %v", memMax, n, ok, err)
		}
		n, ok, err := ParseMemoryMax("/m", []byte(memMax))
		switch {
		case err != nil && ok:
			t.Errorf("ParseMemoryMax(%q): ok with error", memMax)
		case ok && n == 0:
			t.Errorf("ParseMemoryMax(%q): ok with 0", memMax)
		case err != nil && !strings.Contains(err.Error(), `"max"`):
			t.Errorf("error %q does not say what was expected", err)
		}
	})
}

func TestLimitSmallestAndErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"a/memory.max":            {Data: []byte("max\n")},
		"b/memory.max":            {Data: []byte("2000\n")},
		"c/memory.limit_in_bytes": {Data: []byte("1000\n")},
		"d/memory.max":            {Data: []byte("1G\n")},
	}
	files := []string{"a/memory.max", "gone/memory.max", "b/memory.max", "c/memory.limit_in_bytes", "d/memory.max"}
	n, src, errs := Limit(fsys, files)
	if n != 1000 || src != "/c/memory.limit_in_bytes" {
		t.Errorf("Limit = %d from %q, want 1000 from /c/memory.limit_in_bytes", n, src)
	}
	var e *Error
	if len(errs) != 1 || !errors.As(errs[0], &e) || e.Path != "/d/memory.max" || e.Text != "1G" {
		t.Errorf("errors %v, want one *Error for /d/memory.max", errs)
	}
	if n, src, errs := Limit(fsys, []string{"a/memory.max"}); n != 0 || src != "" || errs != nil {
		t.Errorf("no limit: %d %q %v", n, src, errs)
	}
}
