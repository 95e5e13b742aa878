#include "textflag.h"

// func getg() uintptr
TEXT ·getg(SB),NOSPLIT,$0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET

// func loadWord(p *uintptr) uintptr
TEXT ·loadWord(SB),NOSPLIT,$0-16
	MOVD p+0(FP), R0
	MOVD (R0), R0
	MOVD R0, ret+8(FP)
	RET
