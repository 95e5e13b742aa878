// Package svg draws a finished [flame.Tree]: as an interactive,
// self-contained SVG flame graph ([Write]), as folded stacks
// ([WriteFolded]) and as a table of the hottest functions ([WriteTop]).
// It computes nothing about the profile beyond layout and colour. See the
// package Example.
package svg
