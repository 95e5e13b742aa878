#include "textflag.h"

// func getg() uintptr
TEXT ·getg(SB),NOSPLIT,$0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET

// func LoadWord(p *uintptr) uintptr
TEXT ·LoadWord(SB),NOSPLIT,$0-16
	MOVD p+0(FP), R0
	MOVD (R0), R0
	MOVD R0, ret+8(FP)
	RET

// func Word(off uintptr) uint64
TEXT ·Word(SB),NOSPLIT,$0-16
	MOVD off+0(FP), R0
	MOVD (g)(R0), R1
	MOVD R1, ret+8(FP)
	RET

// func WordAt(gp, off uintptr) uint64
TEXT ·WordAt(SB),NOSPLIT,$0-24
	MOVD gp+0(FP), R0
	MOVD off+8(FP), R1
	MOVD (R0)(R1), R2
	MOVD R2, ret+16(FP)
	RET

// func CallerPC() uintptr
// A leaf with no frame leaves R29 its caller's frame pointer; the word
// above the saved frame pointer is the caller's saved link register.
TEXT ·CallerPC(SB),NOSPLIT,$0-8
	MOVD 8(R29), R0
	MOVD R0, ret+0(FP)
	RET

// func keyWord(off uintptr) (key uintptr, w uint64)
// w is 0 when off is.
TEXT ·keyWord(SB),NOSPLIT,$0-24
	MOVD off+0(FP), R0
	MOVD g, R1
	MOVD R1, key+8(FP)
	MOVD ZR, R2
	CBZ R0, done
	MOVD (g)(R0), R2
done:
	MOVD R2, w+16(FP)
	RET
