// Package svg draws a finished [flame.Tree]: as a self-contained SVG flame
// graph that shows without script and is interactive with it ([Write]), as
// a flame chart on a time axis ([WriteChart]) and as a table of the hottest
// functions ([WriteTop]); [flame.WriteFolded] writes it as folded stacks.
// It computes nothing about the profile beyond layout and colour. See the
// package Example.
package svg
