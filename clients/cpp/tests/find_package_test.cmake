# ctest script (cmake -P): installs the credbroker_client component of the
# build into a temporary prefix, then configures, builds and runs the consumer
# project (tests/consumer) with find_package(credbroker_client CONFIG).
# Inputs: BUILD_DIR, CONSUMER_SOURCE_DIR, GENERATOR, BUILD_TYPE, CXX_COMPILER, SANITIZE.
if(DEFINED ENV{TMPDIR})
  set(_tmp "$ENV{TMPDIR}")
else()
  set(_tmp "/tmp")
endif()
string(RANDOM LENGTH 10 _suffix)
set(WORK "${_tmp}/credbroker-consumer-${_suffix}")
set(PREFIX "${WORK}/prefix")
file(MAKE_DIRECTORY "${WORK}")

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    file(REMOVE_RECURSE "${WORK}")
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run("install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}"
    --component credbroker_client)
foreach(f include/credbroker/client.h include/credbroker/v1/broker.grpc.pb.h)
  if(NOT EXISTS "${PREFIX}/${f}")
    file(GLOB_RECURSE _found RELATIVE "${PREFIX}" "${PREFIX}/*")
    file(REMOVE_RECURSE "${WORK}")
    message(FATAL_ERROR "not installed: ${f}\ninstalled: ${_found}")
  endif()
endforeach()
set(SANITIZER_FLAGS "")
if(SANITIZE)
  set(SANITIZER_FLAGS "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
                      "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
endif()
run("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK}/build"
    -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${PREFIX} ${SANITIZER_FLAGS})
run("build consumer" ${CMAKE_COMMAND} --build "${WORK}/build")
run("run consumer" "${WORK}/build/consumer")
message(STATUS "${last_output}")
file(REMOVE_RECURSE "${WORK}")
