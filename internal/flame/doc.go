// Package flame is the stack-tree model of flamegen and every input decoder
// that builds it.
//
// A [Tree] holds one frame per distinct call path with the total value of
// the stacks through it; names are interned and frames are 24 bytes, so a
// tree of millions of frames stays small. [ParseFolded] streams folded stacks
// into a tree as flamegraph.pl reads them (annotations, fractional counts)
// and [WriteFolded] writes them back losslessly; [ParsePprof] and
// [ProfileTree] decode pprof profiles, legacy formats and delta profiles
// included (choosing the sample type, keeping inlined frames, filtering by
// label), [MergeProfiles] merges several; [Decode] finds the format from the
// content, gzip included, within [WithMaxBytes]. [Diff] compares two trees,
// [Top] and [TopDiff] rank functions by self value, and [Tree.Reverse] turns
// stacks upside down. Frames carry a [Kind] so that
// span frames and off-CPU waits can share a tree with CPU samples, and an
// [Annotation] from folded input.
//
// The tree is the model; package svg draws it. See the package Example.
package flame

//go:generate go run ./internal/gen/cmd/gentestdata -dir testdata
