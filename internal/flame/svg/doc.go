// Package svg draws a finished [flame.Tree]: as an interactive,
// self-contained SVG flame graph ([Write]) and as a table of the hottest
// functions ([WriteTop]); [flame.WriteFolded] writes it as folded stacks.
// It computes nothing about the profile beyond layout and colour. See the
// package Example.
package svg
