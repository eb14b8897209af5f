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

# The tier through its interface, on the same compiled guests.
add_executable(wasm_tier_tests wasm_tier_test.cc)
target_link_libraries(wasm_tier_tests PRIVATE spectrum_wasm spectrum_core GTest::gtest_main)
target_compile_definitions(wasm_tier_tests PRIVATE WASI_GUEST_DIR="${WASI_GUEST_WORK}/guests")
spectrum_target_defaults(wasm_tier_tests)
gtest_discover_tests(wasm_tier_tests PROPERTIES FIXTURES_REQUIRED wasi_guests LABELS integration DISCOVERY_TIMEOUT 30)
