// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProvenanceRegistry} from "./interfaces/IProvenanceRegistry.sol";

/**
 * @title ProvenanceRegistry
 * @notice Geographical-indication provenance: GI products, per-product roles, producer licences
 * with quotas, lots whose quantities keep mass balance on chain, and supply-chain events kept as
 * one hash-chain head per lot. No sequence of operations can create quantity: harvests are capped
 * by licences, every derived lot takes at most what its parents have left, and a transform's
 * output is capped by the product's maximum yield (≤ 100 %).
 * @dev Roles use OpenZeppelin AccessControl. Global roles: `DEFAULT_ADMIN_ROLE` (manages
 * registrars) and `REGISTRAR_ROLE` (creates products). Product roles have decodable ids
 * ({productRoleId}); each is administered by the same product's admin role, so only a product's
 * admins manage its roles — not the registry's admin. No external calls.
 * Meta-transactions (ERC-2771): calls relayed by the trusted forwarder fixed at deployment act as the
 * account that signed the request ({_msgSender}); roles, quotas and mass balance apply to it.
 */
contract ProvenanceRegistry is IProvenanceRegistry, AccessControl, ERC2771Context {
    /// @notice Role of the accounts that may create products (the GI authority or the platform operator).
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Product role codes, as used by {productRoleId} and the role events.
    uint8 public constant ROLE_ADMIN = 0;
    /// @notice Producer: holds licences and harvests.
    uint8 public constant ROLE_PRODUCER = 1;
    /// @notice Inspector: inspects, samples and recalls.
    uint8 public constant ROLE_INSPECTOR = 2;
    /// @notice Processor: splits, merges, transforms, packs and issues codes.
    uint8 public constant ROLE_PROCESSOR = 3;
    /// @notice Logistics: ships, transports, receives.
    uint8 public constant ROLE_LOGISTICS = 4;
    /// @notice Retailer: receives and sells.
    uint8 public constant ROLE_RETAILER = 5;

    /// @notice Number of business step codes (0 .. STEP_COUNT - 1). The names are in the SDK's `BIZ_STEPS`.
    uint8 public constant STEP_COUNT = 19;
    /// @notice Number of disposition codes (0 .. DISPOSITION_COUNT - 1). The names are in the SDK's `DISPOSITIONS`.
    uint8 public constant DISPOSITION_COUNT = 13;

    // Business steps used by the lot operations (indices into the SDK's BIZ_STEPS).
    uint8 private constant _STEP_COMMISSIONING = 0;
    uint8 private constant _STEP_PACKING = 3;
    uint8 private constant _STEP_REPACKAGING = 5;
    uint8 private constant _STEP_CREATING_CLASS_INSTANCE = 6;
    uint8 private constant _STEP_HOLDING = 8;
    // Dispositions used by the lot operations (indices into the SDK's DISPOSITIONS).
    uint8 private constant _DISP_ACTIVE = 0;
    uint8 private constant _DISP_CONTAINER_CLOSED = 5;
    uint8 private constant _DISP_RECALLED = 9;

    // Role bit masks (bit i = role i).
    uint8 private constant _ADMIN = 1 << 0;
    uint8 private constant _PRODUCER = 1 << 1;
    uint8 private constant _INSPECTOR = 1 << 2;
    uint8 private constant _PROCESSOR = 1 << 3;

    // Byte i = roles allowed to record step i (see {stepRoles}). Admins are always allowed.
    uint256 private constant _STEP_ROLES = 0x3e2c201010103810101a3c38080a2808040402;

    // High 22 bytes of every product role id.
    uint256 private constant _ROLE_TAG = uint256(bytes32("proofmark.product.role"));
    uint256 private constant _ROLE_TAG_MASK = ~uint256(0xFFFFFFFFFF);

    uint32 private _productCount;
    uint64 private _lotCount;
    mapping(uint32 product => Product info) private _products;
    mapping(uint64 lot => Lot info) private _lots;
    mapping(uint64 lot => bytes32 head) private _heads;
    mapping(uint64 lot => uint64[] parents) private _parents;
    mapping(bytes32 key => Licence licence) private _licences;
    // ERC-2771 forwarder, kept in storage rather than ERC2771Context's immutable so that the runtime
    // code (and the code hash verifiers recognise) is the same for every deployment.
    address private _forwarder;

    /**
     * @notice Deploys the registry with `admin` as the manager of registrars and an optional first registrar.
     * @param admin Receives `DEFAULT_ADMIN_ROLE` (it grants and revokes `REGISTRAR_ROLE`).
     * @param registrar Receives `REGISTRAR_ROLE`, unless it is the zero address.
     * @param forwarder The trusted ERC-2771 forwarder (an OpenZeppelin `ERC2771Forwarder`), or the
     * zero address for none. Fixed for the registry's life.
     */
    constructor(address admin, address registrar, address forwarder) ERC2771Context(address(0)) {
        if (admin == address(0)) revert ProvenanceZeroAddress();
        _forwarder = forwarder;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (registrar != address(0)) _grantRole(REGISTRAR_ROLE, registrar);
    }

    // ---------------------------------------------------------------- products, roles, licences

    /// @inheritdoc IProvenanceRegistry
    function createProduct(ProductInput calldata input) external onlyRole(REGISTRAR_ROLE) returns (uint32 product) {
        if (input.admin == address(0)) revert ProvenanceZeroAddress();
        if (input.maxYieldBps == 0 || input.maxYieldBps > 10_000) revert ProvenanceInvalidYield(input.maxYieldBps);
        product = ++_productCount;
        Product storage p = _products[product];
        p.maxYieldBps = input.maxYieldBps;
        p.standard = input.standard;
        p.name = input.name;
        p.nameEn = input.nameEn;
        p.giNumber = input.giNumber;
        p.region = input.region;
        p.unit = input.unit;
        emit ProductCreated(product, input.admin, _msgSender(), p);
        _grantRole(productRoleId(product, ROLE_ADMIN), input.admin);
    }

    /// @inheritdoc IProvenanceRegistry
    function grantLicence(uint32 product, address producer, uint16 season, uint64 quota) external {
        _requireProduct(product);
        _requireRoles(product, _ADMIN);
        if (producer == address(0)) revert ProvenanceZeroAddress();
        Licence storage entry = _licences[_licenceKey(product, producer, season)];
        if (quota < entry.harvested) revert ProvenanceQuotaBelowHarvested(product, producer, season, quota, entry.harvested);
        entry.quota = quota;
        emit LicenceGranted(product, producer, season, quota);
    }

    /**
     * @notice The admin role of `role`: for a product role, that product's admin role.
     * @param role A role id.
     * @return The role id whose holders may grant and revoke `role`.
     */
    function getRoleAdmin(bytes32 role) public view override returns (bytes32) {
        if (uint256(role) & _ROLE_TAG_MASK == _ROLE_TAG) {
            return productRoleId(uint32(uint256(role) >> 8), ROLE_ADMIN);
        }
        return super.getRoleAdmin(role);
    }

    /// @inheritdoc IProvenanceRegistry
    function productRoleId(uint32 product, uint8 role) public pure returns (bytes32) {
        if (role > ROLE_RETAILER) revert ProvenanceRoleUnknown(role);
        return bytes32(_ROLE_TAG | (uint256(product) << 8) | role);
    }

    /// @inheritdoc IProvenanceRegistry
    function stepRoles(uint8 step) public pure returns (uint8 roles) {
        if (step >= STEP_COUNT) revert ProvenanceUnknownStep(step);
        return uint8(_STEP_ROLES >> (uint256(step) * 8));
    }

    // ---------------------------------------------------------------- lots

    /// @inheritdoc IProvenanceRegistry
    function harvest(uint32 product, uint16 season, uint64 quantity, Record calldata record)
        external
        returns (uint64 lot)
    {
        _requireProduct(product);
        _requireRoles(product, _PRODUCER);
        if (quantity == 0) revert ProvenanceQuantityZero();
        Licence storage entry = _licences[_licenceKey(product, _msgSender(), season)];
        uint64 quota = entry.quota;
        if (quota == 0) revert ProvenanceLicenceMissing(product, _msgSender(), season);
        uint64 available = quota - entry.harvested;
        if (quantity > available) revert ProvenanceQuotaExceeded(product, _msgSender(), season, quantity, available);
        entry.harvested += quantity;
        lot = ++_lotCount;
        _lots[lot] = Lot(product, LotStatus.Active, LotOrigin.Harvest, quantity, quantity, 0, 0);
        emit LotHarvested(lot, product, _msgSender(), season, quantity);
        _append(lot, _STEP_COMMISSIONING, _DISP_ACTIVE, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function split(uint64 lot, uint64[] calldata quantities, Record calldata record) external returns (uint64 first) {
        Lot storage parent = _activeUnpacked(lot);
        uint32 product = parent.product;
        _requireRoles(product, _PRODUCER | _PROCESSOR);
        uint256 n = quantities.length;
        if (n == 0) revert ProvenanceTooFewItems(0, 1);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (quantities[i] == 0) revert ProvenanceQuantityZero();
            total += quantities[i];
        }
        _take(parent, lot, total);
        _append(lot, _STEP_REPACKAGING, _DISP_ACTIVE, record);
        uint64[] memory parents = new uint64[](1);
        parents[0] = lot;
        uint64[] memory amounts = new uint64[](1);
        first = _lotCount + 1;
        for (uint256 i; i < n; ++i) {
            amounts[0] = quantities[i];
            _derive(product, LotOrigin.Split, quantities[i], 0, parents, amounts, record);
        }
    }

    /// @inheritdoc IProvenanceRegistry
    function merge(uint64[] calldata lots, Record calldata record) external returns (uint64 merged) {
        uint256 n = lots.length;
        if (n < 2) revert ProvenanceTooFewItems(n, 2);
        uint32 product = _activeUnpacked(lots[0]).product;
        _requireRoles(product, _PRODUCER | _PROCESSOR);
        uint64[] memory amounts = new uint64[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            Lot storage input = _sameProduct(lots[i], product);
            uint64 amount = input.remaining;
            _take(input, lots[i], amount);
            _append(lots[i], _STEP_REPACKAGING, _DISP_ACTIVE, record);
            amounts[i] = amount;
            total += amount;
        }
        merged = _derive(product, LotOrigin.Merge, SafeCast.toUint64(total), 0, lots, amounts, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function transform(uint64[] calldata lots, uint64[] calldata amounts, uint64 output, Record calldata record)
        external
        returns (uint64 out)
    {
        uint256 n = lots.length;
        if (n == 0) revert ProvenanceTooFewItems(0, 1);
        if (amounts.length != n) revert ProvenanceLengthMismatch(n, amounts.length);
        if (output == 0) revert ProvenanceQuantityZero();
        uint32 product = _activeUnpacked(lots[0]).product;
        _requireRoles(product, _PROCESSOR);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (amounts[i] == 0) revert ProvenanceQuantityZero();
            _take(_sameProduct(lots[i], product), lots[i], amounts[i]);
            _append(lots[i], _STEP_CREATING_CLASS_INSTANCE, _DISP_ACTIVE, record);
            total += amounts[i];
        }
        uint16 maxYieldBps = _products[product].maxYieldBps;
        if (uint256(output) * 10_000 > total * maxYieldBps) revert ProvenanceYieldExceeded(output, total, maxYieldBps);
        out = _derive(product, LotOrigin.Transform, output, 0, lots, amounts, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function pack(uint64 lot, uint32 packages, uint64 size, Record calldata record) external returns (uint64 packed) {
        Lot storage parent = _activeUnpacked(lot);
        uint32 product = parent.product;
        _requireRoles(product, _PROCESSOR);
        if (packages == 0 || size == 0) revert ProvenanceQuantityZero();
        uint256 total = uint256(packages) * size;
        _take(parent, lot, total);
        _append(lot, _STEP_PACKING, _DISP_CONTAINER_CLOSED, record);
        uint64[] memory parents = new uint64[](1);
        parents[0] = lot;
        uint64[] memory amounts = new uint64[](1);
        amounts[0] = uint64(total); // ≤ remaining, a uint64
        packed = _derive(product, LotOrigin.Pack, uint64(total), packages, parents, amounts, record);
    }

    // ---------------------------------------------------------------- events, recall, codes

    /// @inheritdoc IProvenanceRegistry
    function recordEvent(EventInput calldata input) external {
        _record(input, 0);
    }

    /// @inheritdoc IProvenanceRegistry
    function recordEvents(EventInput[] calldata inputs) external {
        uint256 n = inputs.length;
        if (n == 0) revert ProvenanceTooFewItems(0, 1);
        uint256 authorized;
        for (uint256 i; i < n; ++i) authorized = _record(inputs[i], authorized);
    }

    /// @inheritdoc IProvenanceRegistry
    function recall(uint64 lot, string calldata reason, Record calldata record) external {
        Lot storage entry = _lots[lot];
        LotStatus status = entry.status;
        if (status == LotStatus.None) revert ProvenanceLotUnknown(lot);
        if (status == LotStatus.Recalled) revert ProvenanceLotAlreadyRecalled(lot);
        _requireRoles(entry.product, _INSPECTOR);
        entry.status = LotStatus.Recalled;
        emit LotRecalled(lot, _msgSender(), reason);
        _append(lot, _STEP_HOLDING, _DISP_RECALLED, record);
    }

    /// @inheritdoc IProvenanceRegistry
    function issueCodes(uint64 lot, uint32 count, bytes32 serialSetCommitment) external {
        Lot storage entry = _active(lot);
        _requireRoles(entry.product, _PROCESSOR);
        if (count == 0) revert ProvenanceQuantityZero();
        uint32 packages = entry.packages;
        if (packages == 0) revert ProvenanceLotNotPacked(lot);
        uint32 issued = entry.issuedCodes;
        if (count > packages - issued) revert ProvenanceCodesExceeded(lot, count, packages - issued);
        issued += count;
        entry.issuedCodes = issued;
        emit CodesIssued(lot, _msgSender(), count, issued, serialSetCommitment);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProvenanceRegistry
    function productOf(uint32 product) external view returns (Product memory) {
        _requireProduct(product);
        return _products[product];
    }

    /// @inheritdoc IProvenanceRegistry
    function lotOf(uint64 lot) external view returns (Lot memory) {
        return _lots[lot];
    }

    /// @inheritdoc IProvenanceRegistry
    function parentsOf(uint64 lot) external view returns (uint64[] memory) {
        return _parents[lot];
    }

    /// @inheritdoc IProvenanceRegistry
    function headOf(uint64 lot) external view returns (bytes32) {
        return _heads[lot];
    }

    /// @inheritdoc IProvenanceRegistry
    function licenceOf(uint32 product, address producer, uint16 season) external view returns (Licence memory) {
        return _licences[_licenceKey(product, producer, season)];
    }

    /// @inheritdoc IProvenanceRegistry
    function counts() external view returns (uint32 products, uint64 lots) {
        return (_productCount, _lotCount);
    }

    /// @inheritdoc IProvenanceRegistry
    function version() external pure returns (string memory) {
        return "1.1.0";
    }

    // ---------------------------------------------------------------- ERC-2771 (meta-transactions)

    /// @notice The ERC-2771 forwarder whose relayed calls act as the account that signed them (zero: none).
    function trustedForwarder() public view override returns (address) {
        return _forwarder;
    }

    /// @dev A caller without code (an account calling directly) is never the forwarder: it skips the
    /// forwarder's storage read (the caller is warm, EXTCODESIZE costs 100 gas), so direct calls cost
    /// about what they cost before meta-transactions.
    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        if (msg.sender.code.length == 0) return msg.sender;
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }

    // ---------------------------------------------------------------- named participants

    /// @notice Participant kinds, by code: farm, inspector, packer, carrier, retailer.
    uint8 public constant PARTICIPANT_KIND_COUNT = 5;
    /// @notice Longest display name (either language), in bytes of UTF-8.
    uint256 public constant PARTICIPANT_NAME_MAX = 128;
    /// @notice Longest licence / registration number and region, in bytes of UTF-8.
    uint256 public constant PARTICIPANT_FIELD_MAX = 64;

    /**
     * @notice What a product's admin says about one of the product's participants. Untrusted text
     * for whoever shows it: the registry bounds the lengths, nothing else.
     * @param kind Code of the participant kind (see {PARTICIPANT_KIND_COUNT}).
     * @param name Display name in the original language (required).
     * @param nameEn English display name (may be empty).
     * @param licence Licence or registration number (may be empty).
     * @param region Region (may be empty).
     */
    struct Participant {
        uint8 kind;
        string name;
        string nameEn;
        string licence;
        string region;
    }

    /**
     * @notice Emitted when a product's admin sets (or replaces) a participant record.
     * @param product The product.
     * @param account The participant's account.
     * @param admin The admin who set it.
     * @param info The record as stored.
     */
    event ParticipantSet(uint32 indexed product, address indexed account, address indexed admin, Participant info);

    /// @notice Thrown when a participant kind code is not below {PARTICIPANT_KIND_COUNT}.
    error ProvenanceParticipantKindUnknown(uint8 kind);
    /// @notice Thrown when a participant record has no display name.
    error ProvenanceParticipantNameEmpty();
    /// @notice Thrown when a participant field is longer than allowed (field: 0 name, 1 nameEn, 2 licence, 3 region).
    error ProvenanceParticipantFieldTooLong(uint8 field, uint256 length, uint256 maximum);

    mapping(uint32 product => mapping(address account => Participant info)) private _participants;

    /**
     * @notice Sets the participant record of `account` for `product` (replacing any earlier one).
     * @dev The product's admins only.
     * @param product The product.
     * @param account The participant's account.
     * @param info Kind, names, licence number and region.
     */
    function setParticipant(uint32 product, address account, Participant calldata info) external {
        _requireProduct(product);
        _requireRoles(product, _ADMIN);
        if (account == address(0)) revert ProvenanceZeroAddress();
        if (info.kind >= PARTICIPANT_KIND_COUNT) revert ProvenanceParticipantKindUnknown(info.kind);
        if (bytes(info.name).length == 0) revert ProvenanceParticipantNameEmpty();
        _requireLength(0, bytes(info.name).length, PARTICIPANT_NAME_MAX);
        _requireLength(1, bytes(info.nameEn).length, PARTICIPANT_NAME_MAX);
        _requireLength(2, bytes(info.licence).length, PARTICIPANT_FIELD_MAX);
        _requireLength(3, bytes(info.region).length, PARTICIPANT_FIELD_MAX);
        _participants[product][account] = info;
        emit ParticipantSet(product, account, _msgSender(), info);
    }

    /**
     * @notice The participant record of `account` for `product` (an empty name: none set).
     * @param product The product.
     * @param account The account.
     * @return The record.
     */
    function participantOf(uint32 product, address account) external view returns (Participant memory) {
        return _participants[product][account];
    }

    function _requireLength(uint8 field, uint256 length, uint256 maximum) private pure {
        if (length > maximum) revert ProvenanceParticipantFieldTooLong(field, length, maximum);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Emits {ProductRoleGranted} besides AccessControl's `RoleGranted` for product roles.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        bool productRole = uint256(role) & _ROLE_TAG_MASK == _ROLE_TAG;
        if (productRole && uint8(uint256(role)) > ROLE_RETAILER) revert ProvenanceRoleUnknown(uint8(uint256(role)));
        granted = super._grantRole(role, account);
        if (granted && productRole) {
            emit ProductRoleGranted(uint32(uint256(role) >> 8), uint8(uint256(role)), account, _msgSender());
        }
    }

    /// @dev Emits {ProductRoleRevoked} besides AccessControl's `RoleRevoked` for product roles.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && uint256(role) & _ROLE_TAG_MASK == _ROLE_TAG) {
            emit ProductRoleRevoked(uint32(uint256(role) >> 8), uint8(uint256(role)), account, _msgSender());
        }
    }

    /// @dev Checks and chains one event. `authorized` caches the last (product, step) the caller
    /// was found allowed for, so a batch of similar events checks roles once.
    function _record(EventInput calldata input, uint256 authorized) private returns (uint256) {
        uint64 lot = input.lot;
        uint8 step = input.step;
        uint8 disposition = input.disposition;
        uint32 product = _active(lot).product;
        if (disposition >= DISPOSITION_COUNT) revert ProvenanceUnknownDisposition(disposition);
        uint256 key = (1 << 255) | (uint256(product) << 8) | step;
        if (key != authorized) {
            _requireRoles(product, stepRoles(step));
            authorized = key;
        }
        _chain(lot, step, disposition, input.eventTime, input.location, input.document);
        return authorized;
    }

    function _append(uint64 lot, uint8 step, uint8 disposition, Record calldata r) private {
        _chain(lot, step, disposition, r.eventTime, r.location, r.document);
    }

    /// @dev head' = keccak256(abi.encode(head, keccak256(abi.encode(lot, _msgSender(), step,
    /// disposition, eventTime, location, document)))) and {LotEventRecorded}, in scratch memory
    /// (nothing allocated: the hot path of batches of events).
    function _chain(uint64 lot, uint8 step, uint8 disposition, uint40 eventTime, bytes32 location, bytes32 document)
        private
    {
        bytes32 topic = LotEventRecorded.selector;
        address actor = _msgSender();
        uint256 headsSlot;
        assembly ("memory-safe") {
            headsSlot := _heads.slot
            let ptr := mload(0x40)
            mstore(ptr, and(lot, 0xffffffffffffffff))
            mstore(add(ptr, 0x20), actor)
            mstore(add(ptr, 0x40), and(step, 0xff))
            mstore(add(ptr, 0x60), and(disposition, 0xff))
            mstore(add(ptr, 0x80), and(eventTime, 0xffffffffff))
            mstore(add(ptr, 0xa0), location)
            mstore(add(ptr, 0xc0), document)
            let eventDigest := keccak256(ptr, 0xe0)
            mstore(0x00, and(lot, 0xffffffffffffffff))
            mstore(0x20, headsSlot)
            let slot := keccak256(0x00, 0x40)
            mstore(0x00, sload(slot))
            mstore(0x20, eventDigest)
            sstore(slot, keccak256(0x00, 0x40))
            log3(add(ptr, 0x40), 0xa0, topic, and(lot, 0xffffffffffffffff), actor)
        }
    }

    function _derive(
        uint32 product,
        LotOrigin origin,
        uint64 quantity,
        uint32 packages,
        uint64[] memory parents,
        uint64[] memory amounts,
        Record calldata record
    ) private returns (uint64 lot) {
        lot = ++_lotCount;
        _lots[lot] = Lot(product, LotStatus.Active, origin, quantity, quantity, packages, 0);
        _parents[lot] = parents;
        emit LotDerived(lot, product, _msgSender(), origin, quantity, packages, parents, amounts);
        if (origin == LotOrigin.Pack) _append(lot, _STEP_PACKING, _DISP_CONTAINER_CLOSED, record);
        else if (origin == LotOrigin.Transform) _append(lot, _STEP_CREATING_CLASS_INSTANCE, _DISP_ACTIVE, record);
        else _append(lot, _STEP_REPACKAGING, _DISP_ACTIVE, record);
    }

    /// @dev Takes `amount` from `entry.remaining`; a lot left with nothing becomes consumed.
    function _take(Lot storage entry, uint64 lot, uint256 amount) private {
        uint64 remaining = entry.remaining;
        if (amount > remaining) revert ProvenanceInsufficientQuantity(lot, amount, remaining);
        remaining -= uint64(amount);
        entry.remaining = remaining;
        if (remaining == 0) entry.status = LotStatus.Consumed;
    }

    function _active(uint64 lot) private view returns (Lot storage entry) {
        entry = _lots[lot];
        LotStatus status = entry.status;
        if (status != LotStatus.Active) {
            if (status == LotStatus.None) revert ProvenanceLotUnknown(lot);
            revert ProvenanceLotNotActive(lot, status);
        }
    }

    function _activeUnpacked(uint64 lot) private view returns (Lot storage entry) {
        entry = _active(lot);
        if (entry.packages != 0) revert ProvenanceLotPacked(lot);
    }

    function _sameProduct(uint64 lot, uint32 product) private view returns (Lot storage entry) {
        entry = _activeUnpacked(lot);
        if (entry.product != product) revert ProvenanceProductMismatch(lot, product, entry.product);
    }

    function _requireProduct(uint32 product) private view {
        if (_products[product].maxYieldBps == 0) revert ProvenanceProductUnknown(product);
    }

    /// @dev Passes when the caller holds the product's admin role or any role in `roles`.
    function _requireRoles(uint32 product, uint8 roles) private view {
        address sender = _msgSender();
        for (uint8 role = ROLE_RETAILER; role > ROLE_ADMIN; --role) {
            if (roles & (1 << role) != 0 && hasRole(productRoleId(product, role), sender)) return;
        }
        if (!hasRole(productRoleId(product, ROLE_ADMIN), sender)) {
            revert ProvenanceRoleMissing(product, sender, roles | _ADMIN);
        }
    }

    function _licenceKey(uint32 product, address producer, uint16 season) private pure returns (bytes32) {
        return keccak256(abi.encode(product, producer, season));
    }
}
