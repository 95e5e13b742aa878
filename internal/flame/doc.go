// Package flame is the stack-tree model of flamegen and every input decoder
// that builds it.
//
// A [Tree] holds one frame per distinct call path with the total value of
// the stacks through it; names are interned and frames are 24 bytes, so a
// tree of millions of frames stays small. [ParseFolded] streams folded stacks
// into a tree, [ParsePprof] decodes pprof profiles (choosing the sample type,
// keeping inlined frames, filtering by label), and [Decode] finds the format
// from the content, gzip included. [Diff] compares two trees and
// [Tree.Reverse] turns stacks upside down. Frames carry a [Kind] so that
// span frames and off-CPU waits can share a tree with CPU samples.
//
// The tree is the model; package svg draws it. See the package Example.
package flame

//go:generate go run ./internal/gen/cmd/gentestdata -dir testdata
