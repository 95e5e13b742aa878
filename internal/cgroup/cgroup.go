// Package cgroup finds the memory limit a Linux cgroup puts on the process:
// it reads /proc/self/cgroup and /proc/self/mountinfo to find the cgroup v2
// memory.max (or cgroup v1 memory.limit_in_bytes) files of the process's
// cgroup and its ancestors, and reads the smallest limit among them. Every
// file is read through an fs.FS rooted at the root directory, so tests
// give a fstest.MapFS. A file it cannot understand is an [*Error] naming
// the file, the line and what was expected.
package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error says a cgroup file could not be understood.
type Error struct {
	Path   string // the file, e.g. /proc/self/cgroup
	Line   int    // 1-based line, 0 when the file is one value
	Text   string // the line or value that was not understood
	Reason string // what was expected
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %q: %s", e.Path, e.Line, e.Text, e.Reason)
	}
	return fmt.Sprintf("%s: %q: %s", e.Path, e.Text, e.Reason)
}

// Limit reads files (as [MemoryFiles] returns them) and returns the
// smallest memory limit among them and the file it came from, as an
// absolute path; 0 when none sets one. Files that do not exist are
// skipped; errs holds what went wrong with the others, which are skipped
// too.
func Limit(fsys fs.FS, files []string) (limit uint64, source string, errs []error) {
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		parse := ParseMemoryMax
		if path.Base(f) == "memory.limit_in_bytes" {
			parse = ParseLimitInBytes
		}
		n, ok, err := parse("/"+f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && (limit == 0 || n < limit) {
			limit, source = n, "/"+f
		}
	}
	return limit, source, errs
}

// MemoryFiles finds the files that may limit the process's memory,
// as paths relative to fsys (the root directory), innermost first: under
// cgroup v2 the memory.max of its cgroup and its ancestors up to the cgroup2
// mount, under cgroup v1 the memory.limit_in_bytes of its memory cgroup and
// its ancestors. A hybrid host (the memory controller in v1, an empty
// unified hierarchy beside it) gives both lists; files that do not exist
// are skipped when read. No cgroups (another OS) gives none and no error.
func MemoryFiles(fsys fs.FS) ([]string, error) {
	const procCgroup, mountinfo = "proc/self/cgroup", "proc/self/mountinfo"
	cgData, err := fs.ReadFile(fsys, procCgroup)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	v2, ok2, err := parseProcCgroup("/"+procCgroup, cgData)
	if err != nil {
		return nil, err
	}
	v1, ok1, err := parseProcCgroupV1Memory("/"+procCgroup, cgData)
	if err != nil {
		return nil, err
	}
	if !ok1 && !ok2 {
		return nil, nil
	}
	mountData, err := fs.ReadFile(fsys, mountinfo)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var files []string
	if ok2 {
		mnt, root, ok, err := parseCgroupMount("/"+mountinfo, mountData, cgroup2Mount)
		if err != nil {
			return nil, err
		}
		if ok {
			files = append(files, limitFiles(v2, mnt, root, "memory.max")...)
		}
	}
	if ok1 {
		mnt, root, ok, err := parseCgroupMount("/"+mountinfo, mountData, cgroup1MemoryMount)
		if err != nil {
			return nil, err
		}
		if ok {
			files = append(files, limitFiles(v1, mnt, root, "memory.limit_in_bytes")...)
		}
	}
	return files, nil
}

// limitFiles lists file in cgroup cg and its ancestors, for a hierarchy
// mounted at mnt showing it from root down; none when cg is not visible
// under the mount.
func limitFiles(cg, mnt, root, file string) []string {
	rel := cg
	if root != "/" {
		r, found := strings.CutPrefix(cg, root)
		if !found || (r != "" && r[0] != '/') {
			return nil
		}
		rel = r
	}
	rel = path.Clean("/" + rel)
	var files []string
	for dir := rel; ; dir = path.Dir(dir) {
		files = append(files, strings.TrimPrefix(path.Join(mnt, dir, file), "/"))
		if dir == "/" {
			return files
		}
	}
}

// parseProcCgroupV1Memory returns the path of the cgroup v1 hierarchy that
// has the memory controller in a /proc/self/cgroup file ("4:memory:/path");
// ok is false when there is none.
func parseProcCgroupV1Memory(name string, data []byte) (cgroup string, ok bool, err error) {
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		_, rest, found := strings.Cut(line, ":")
		ctrl, p, found2 := strings.Cut(rest, ":")
		if !found || !found2 {
			return "", false, &Error{Path: name, Line: i + 1, Text: line, Reason: "want hierarchy-ID:controllers:path"}
		}
		if !slices.Contains(strings.Split(ctrl, ","), "memory") {
			continue
		}
		if !strings.HasPrefix(p, "/") || !utf8.ValidString(p) {
			return "", false, &Error{Path: name, Line: i + 1, Text: line, Reason: "want an absolute UTF-8 cgroup path after the memory controller"}
		}
		return p, true, nil
	}
	return "", false, nil
}

// parseProcCgroup returns the cgroup v2 path in a /proc/self/cgroup file
// (the "0::/path" line); ok is false when there is none (cgroup v1 only).
func parseProcCgroup(name string, data []byte) (cgroup string, ok bool, err error) {
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		id, rest, found := strings.Cut(line, ":")
		ctrl, p, found2 := strings.Cut(rest, ":")
		if !found || !found2 {
			return "", false, &Error{Path: name, Line: i + 1, Text: line, Reason: "want hierarchy-ID:controllers:path"}
		}
		if id != "0" || ctrl != "" {
			continue
		}
		if !strings.HasPrefix(p, "/") || !utf8.ValidString(p) {
			return "", false, &Error{Path: name, Line: i + 1, Text: line, Reason: "want an absolute UTF-8 cgroup path after 0::"}
		}
		return p, true, nil
	}
	return "", false, nil
}

// cgroup2Mount and cgroup1MemoryMount pick a mount from its file system
// type and super options.
func cgroup2Mount(fstype, _ string) bool { return fstype == "cgroup2" }

func cgroup1MemoryMount(fstype, superOpts string) bool {
	return fstype == "cgroup" && slices.Contains(strings.Split(superOpts, ","), "memory")
}

// parseCgroupMount finds the first mount in a /proc/self/mountinfo file that
// want accepts and returns its mount point and the hierarchy root it shows;
// ok is false when there is none.
func parseCgroupMount(name string, data []byte, want func(fstype, superOpts string) bool) (mountPoint, root string, ok bool, err error) {
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		sep := -1
		for j, f := range fields {
			if f == "-" {
				sep = j
				break
			}
		}
		if sep < 5 || sep+1 >= len(fields) {
			return "", "", false, &Error{Path: name, Line: i + 1, Text: line,
				Reason: "want ID, parent ID, major:minor, root, mount point, options, optional fields, \"-\", file system type"}
		}
		superOpts := ""
		if sep+3 < len(fields) {
			superOpts = fields[sep+3]
		}
		if !want(fields[sep+1], superOpts) {
			continue
		}
		mnt, root := unescapeMount(fields[4]), unescapeMount(fields[3])
		if !strings.HasPrefix(mnt, "/") || !strings.HasPrefix(root, "/") || !utf8.ValidString(mnt) || !utf8.ValidString(root) {
			return "", "", false, &Error{Path: name, Line: i + 1, Text: line, Reason: "want an absolute UTF-8 root and mount point"}
		}
		return path.Clean(mnt), path.Clean(root), true, nil
	}
	return "", "", false, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// ParseLimitInBytes reads a cgroup v1 memory.limit_in_bytes file: a number
// of bytes, where "no limit" is the largest page-aligned value the kernel
// keeps (about 2^63) and reads as ok false, like anything from 2^62 up.
func ParseLimitInBytes(name string, data []byte) (limit uint64, ok bool, err error) {
	v := strings.TrimSpace(string(data))
	n, perr := strconv.ParseUint(v, 10, 64)
	if perr != nil {
		return 0, false, &Error{Path: name, Text: v, Reason: "want a number of bytes"}
	}
	if n == 0 || n >= 1<<62 {
		return 0, false, nil
	}
	return n, true, nil
}

// ParseMemoryMax reads a cgroup v2 memory.max file: a number of bytes, or
// "max" for no limit (ok false).
func ParseMemoryMax(name string, data []byte) (limit uint64, ok bool, err error) {
	v := strings.TrimSpace(string(data))
	if v == "max" {
		return 0, false, nil
	}
	n, perr := strconv.ParseUint(v, 10, 64)
	if perr != nil {
		return 0, false, &Error{Path: name, Text: v, Reason: `want a number of bytes or "max"`}
	}
	if n == 0 {
		return 0, false, nil // a zero limit cannot be a fraction's base
	}
	return n, true, nil
}
