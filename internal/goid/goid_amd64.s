#include "textflag.h"

// func getg() uintptr
TEXT ·getg(SB),NOSPLIT,$0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET

// func LoadWord(p *uintptr) uintptr
TEXT ·LoadWord(SB),NOSPLIT,$0-16
	MOVQ p+0(FP), AX
	MOVQ (AX), AX
	MOVQ AX, ret+8(FP)
	RET

// func Word(off uintptr) uint64
TEXT ·Word(SB),NOSPLIT,$0-16
	MOVQ (TLS), AX
	MOVQ off+0(FP), BX
	MOVQ (AX)(BX*1), AX
	MOVQ AX, ret+8(FP)
	RET

// func WordAt(gp, off uintptr) uint64
TEXT ·WordAt(SB),NOSPLIT,$0-24
	MOVQ gp+0(FP), AX
	MOVQ off+8(FP), BX
	MOVQ (AX)(BX*1), AX
	MOVQ AX, ret+16(FP)
	RET

// func CallerPC() uintptr
// With no frame of its own, BP is still its caller's frame pointer, and
// the word above the saved BP is the caller's return address.
TEXT ·CallerPC(SB),NOSPLIT,$0-8
	MOVQ 8(BP), AX
	MOVQ AX, ret+0(FP)
	RET
