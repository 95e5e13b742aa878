#include "textflag.h"

// func gword(off uintptr) uint64
TEXT ·gword(SB),NOSPLIT,$0-16
	MOVD off+0(FP), R0
	MOVD (g)(R0), R1
	MOVD R1, ret+8(FP)
	RET

// func gwordAt(gp, off uintptr) uint64
TEXT ·gwordAt(SB),NOSPLIT,$0-24
	MOVD gp+0(FP), R0
	MOVD off+8(FP), R1
	MOVD (R0)(R1), R2
	MOVD R2, ret+16(FP)
	RET
