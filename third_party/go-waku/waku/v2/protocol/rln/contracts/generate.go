package contracts

//go:generate ./compile_contracts.sh
