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

// func keyWord(off uintptr) (key uintptr, w uint64)
// w is 0 when off is.
TEXT ·keyWord(SB),NOSPLIT,$0-24
	MOVQ (TLS), AX
	MOVQ AX, key+8(FP)
	MOVQ off+0(FP), BX
	XORL CX, CX
	TESTQ BX, BX
	JZ done
	MOVQ (AX)(BX*1), CX
done:
	MOVQ CX, w+16(FP)
	RET
