# Guest programs in C compiled with clang-16 to wasm32-wasi at test time (fixture), each scenario
# run through the real spectrum binary.
set(WASI_GUEST_WORK ${CMAKE_CURRENT_BINARY_DIR}/guest-work)
set(WASI_GUEST_TEST ${CMAKE_CURRENT_SOURCE_DIR}/guest-test)
add_test(NAME wasi_guests_build COMMAND ${WASI_GUEST_TEST} $<TARGET_FILE:spectrum> ${WASI_GUEST_WORK} build)
set_tests_properties(wasi_guests_build PROPERTIES FIXTURES_SETUP wasi_guests LABELS integration)
foreach(scenario args_env exit_codes files escape readonly clock_random stdio trap timeout memory_limit bad_module)
  add_test(NAME wasi_guest_${scenario}
           COMMAND ${WASI_GUEST_TEST} $<TARGET_FILE:spectrum> ${WASI_GUEST_WORK} ${scenario})
  set_tests_properties(wasi_guest_${scenario} PROPERTIES FIXTURES_REQUIRED wasi_guests LABELS integration TIMEOUT 60)
endforeach()
