// Contains resources or utils for test units
package tests
